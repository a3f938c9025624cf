import { z } from 'zod';
import { ExperimentConfigBaseSchema } from '../config/experiment.js';
import { StudySettingsSchema } from '../config/study.js';
import { ExperimentResultSchema, RESULT_SCHEMA_VERSION } from './experiment-result.js';

/**
 * JSON Schema of the config files and result.json, generated from the zod schemas (never kept by
 * hand). Editors use the config schemas for completion (`# yaml-language-server: $schema=...`),
 * pandas/duckdb users the result schema. Config schemas describe the *input* side (what a user
 * may write: defaults are optional, shorthands allowed); the result schema the output side.
 */

export type JsonSchema = Record<string, unknown>;

export const JSON_SCHEMA_FILES = [
  'experiment-config.schema.json',
  'study.schema.json',
  'result.schema.json',
] as const;
export type JsonSchemaFile = (typeof JSON_SCHEMA_FILES)[number];

export interface JsonSchemaOptions {
  /** Backend sections (`pytorch:` ...) to describe exactly; other sections are allowed as any object. */
  backends?: Record<string, z.ZodType>;
}

const BACKEND_SECTION: JsonSchema = {
  type: 'object',
  description: "A backend's own section (e.g. pytorch:), validated by that backend plugin",
};

function toInputSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

function experimentProperties(options: JsonSchemaOptions): Record<string, JsonSchema> {
  const generated = toInputSchema(ExperimentConfigBaseSchema);
  const properties = { ...(generated.properties as Record<string, JsonSchema>) };
  // `dataset` is preprocessed from a shorthand string (aienergyscore, synthetic, *.jsonl), which
  // zod cannot express; list the shorthand beside the object forms.
  // zod also drops the default behind the preprocess; take it from a parse of a minimal config.
  const { default: _lost, ...datasetForms } = properties.dataset ?? {};
  properties.dataset = {
    default: ExperimentConfigBaseSchema.parse({ model: 'x' }).dataset,
    anyOf: [
      {
        type: 'string',
        description: 'Shorthand: aienergyscore, synthetic, or a path ending in .jsonl',
        anyOf: [{ enum: ['aienergyscore', 'synthetic'] }, { pattern: '\\.jsonl$' }],
      },
      datasetForms,
    ],
  };
  for (const [name, schema] of Object.entries(options.backends ?? {})) {
    const { $schema: _drop, ...section } = toInputSchema(schema);
    properties[name] = section;
  }
  return properties;
}

function experimentConfigSchema(options: JsonSchemaOptions): JsonSchema {
  const generated = toInputSchema(ExperimentConfigBaseSchema);
  return {
    $schema: generated.$schema,
    title: 'llem experiment config',
    description: 'One llem experiment (YAML or JSON). Unknown keys are errors, except backend sections.',
    type: 'object',
    properties: experimentProperties(options),
    required: generated.required,
    additionalProperties: BACKEND_SECTION,
  };
}

function studySchema(options: JsonSchemaOptions): JsonSchema {
  const settings = toInputSchema(StudySettingsSchema);
  const experiment = experimentProperties(options);
  const settingsProperties = settings.properties as Record<string, JsonSchema>;
  const experimentItem: JsonSchema = {
    type: 'object',
    description: 'One experiment: fields here override the base experiment',
    properties: experiment,
    additionalProperties: BACKEND_SECTION,
  };
  const experiments = settingsProperties.experiments ?? {};
  return {
    $schema: settings.$schema,
    title: 'llem study',
    description:
      'A study: the base experiment fields at the top level (or in `base:`), a sweep grid and/or an experiments list, cycles, order and gaps.',
    type: 'object',
    // Study settings win over experiment fields of the same name (name, version).
    properties: {
      ...experiment,
      ...settingsProperties,
      experiments: { ...experiments, items: experimentItem },
    },
    additionalProperties: BACKEND_SECTION,
  };
}

function resultSchema(): JsonSchema {
  const generated = z.toJSONSchema(ExperimentResultSchema, {
    io: 'output',
    unrepresentable: 'any',
  }) as JsonSchema;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: `llem result.json (schema ${RESULT_SCHEMA_VERSION})`,
    description: 'The result of one experiment run (one cycle). Readers refuse a newer schema_version.',
    ...rest,
  };
}

/** The published JSON Schemas, keyed by file name. */
export function generateJsonSchemas(options: JsonSchemaOptions = {}): Record<JsonSchemaFile, JsonSchema> {
  return {
    'experiment-config.schema.json': experimentConfigSchema(options),
    'study.schema.json': studySchema(options),
    'result.schema.json': resultSchema(),
  };
}

/** The text a schema file holds: 2-space JSON and a final newline. */
export function jsonSchemaText(schema: JsonSchema): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
