import { ExperimentConfigBaseSchema, StudySettingsSchema } from '@llem/core';
import { z } from 'zod';
import { UserConfigSchema } from './settings.js';

/**
 * Field tables for docs/configuration.md, generated from the zod schemas (the single source of
 * truth), so the documentation cannot drift from what llem accepts. `pnpm --filter @llem/cli docs`
 * rewrites the block between the GENERATED markers; a test fails when it is out of date.
 */

export const BEGIN_MARKER = '<!-- BEGIN GENERATED FIELD TABLES (pnpm --filter @llem/cli docs) -->';
export const END_MARKER = '<!-- END GENERATED FIELD TABLES -->';

type Json = Record<string, unknown>;

function typeOf(schema: Json): string {
  if (Array.isArray(schema.enum))
    return (schema.enum as unknown[]).map((v) => `\`${JSON.stringify(v)}\``).join(' | ');
  if ('const' in schema) return `\`${JSON.stringify(schema.const)}\``;
  const union = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
  if (union) return union.map(typeOf).join(' | ');
  const source = ((schema.properties as Record<string, Json> | undefined)?.source as Json | undefined)?.const;
  if (schema.type === 'object' && source !== undefined) return `{source: ${JSON.stringify(source)}, …}`;
  if (schema.type === 'array') return `list of ${typeOf((schema.items as Json) ?? {})}`;
  if (schema.type === 'object') return schema.properties ? 'mapping (below)' : 'mapping';
  if (typeof schema.type === 'string') return schema.type;
  return 'any';
}

const SAFE = Number.MAX_SAFE_INTEGER;

function constraints(schema: Json): string {
  const parts: string[] = [];
  // zod's integer type brings the safe-integer bounds: not worth a word.
  if (schema.minimum !== undefined && schema.minimum !== -SAFE) parts.push(`>= ${schema.minimum}`);
  if (schema.exclusiveMinimum !== undefined) parts.push(`> ${schema.exclusiveMinimum}`);
  if (schema.maximum !== undefined && schema.maximum !== SAFE) parts.push(`<= ${schema.maximum}`);
  if (schema.minLength !== undefined && schema.minLength !== 1) parts.push(`length >= ${schema.minLength}`);
  if (schema.minItems !== undefined) parts.push(`at least ${schema.minItems} item(s)`);
  if (schema.pattern !== undefined) parts.push(`pattern \`${schema.pattern}\``);
  return parts.join(', ');
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** One markdown table per object level; nested mappings get their own table under a dotted name. */
function tables(schema: Json, prefix: string, out: string[], title: string, suffix = ''): void {
  const properties = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required ?? []) as string[]);
  const rows = ['| field | type | default | constraints | description |', '|---|---|---|---|---|'];
  const nested: [string, Json, string?][] = [];
  for (const [key, raw] of Object.entries(properties)) {
    const objects =
      ((raw.anyOf ?? raw.oneOf) as Json[] | undefined)?.filter((s) => s.type === 'object' && s.properties) ??
      [];
    const field = objects.length === 1 ? objects[0]! : raw;
    const name = `${prefix}${key}`;
    if (objects.length > 1) {
      for (const variant of objects) {
        const source = ((variant.properties as Record<string, Json>).source as Json | undefined)?.const;
        nested.push([source === undefined ? name : `${name} (source: ${String(source)})`, variant, name]);
      }
    }
    const fallback =
      'default' in raw ? `\`${JSON.stringify(raw.default)}\`` : required.has(key) ? '**required**' : 'unset';
    rows.push(
      `| \`${name}\` | ${cell(typeOf(raw))} | ${cell(fallback)} | ${cell(constraints(raw))} | ${cell(String(raw.description ?? field.description ?? ''))} |`,
    );
    if (field.type === 'object' && field.properties) nested.push([name, field]);
  }
  out.push(`#### ${title}`, '', ...rows, '');
  for (const [name, field, path] of nested)
    tables(field, `${path ?? name}.`, out, `\`${name}\`${suffix}`, suffix);
}

function jsonSchema(schema: z.ZodType): Json {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
}

/** The generated markdown block (without the markers). */
export function configFieldTables(backendSections: Record<string, z.ZodType> = {}): string {
  const out: string[] = [];
  out.push('### Experiment fields', '');
  tables(jsonSchema(ExperimentConfigBaseSchema), '', out, 'Top level');
  for (const [name, schema] of Object.entries(backendSections))
    tables(jsonSchema(schema), `${name}.`, out, `\`${name}\` (backend section)`);
  out.push(
    '### Study fields',
    '',
    'A study file has these keys beside the experiment fields above (which form the base experiment).',
    '',
  );
  // `gaps` is a field of the study settings: its table comes with them (nested), once.
  tables(jsonSchema(StudySettingsSchema), '', out, 'Study settings');
  out.push('### User config fields', '', 'The user config file (see "Where settings come from").', '');
  tables(jsonSchema(UserConfigSchema), '', out, 'User config', ' (user config)');
  return out.join('\n').trimEnd();
}

/** Replaces the generated block of a markdown document. */
export function withGeneratedTables(document: string, generated: string): string {
  const start = document.indexOf(BEGIN_MARKER);
  const end = document.indexOf(END_MARKER);
  if (start < 0 || end < start) throw new Error('docs/configuration.md lacks the GENERATED markers');
  return `${document.slice(0, start + BEGIN_MARKER.length)}\n\n${generated}\n\n${document.slice(end)}`;
}
