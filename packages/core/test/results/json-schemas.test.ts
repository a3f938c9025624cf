import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { generateJsonSchemas, JSON_SCHEMA_FILES, jsonSchemaText } from '../../src/results/index.js';

const schemasDir = fileURLToPath(new URL('../../../../schemas/', import.meta.url));

describe('published JSON Schemas', () => {
  it('the committed files in schemas/ equal the generated ones (regenerate: cd packages/core && npx tsx scripts/write-schemas.ts)', async () => {
    const generated = generateJsonSchemas();
    for (const name of JSON_SCHEMA_FILES) {
      expect(await readFile(`${schemasDir}${name}`, 'utf8'), name).toBe(jsonSchemaText(generated[name]));
    }
  });

  it('describes the input side of configs: defaults optional, shorthands and backend sections allowed', () => {
    const { 'experiment-config.schema.json': experiment, 'study.schema.json': study } = generateJsonSchemas();
    expect(experiment.required).toEqual(['model']);
    const props = experiment.properties as Record<string, Record<string, unknown>>;
    expect(props.precision?.enum).toEqual(['fp32', 'fp16', 'bf16']);
    expect(props.dataset?.default).toEqual({ source: 'aienergyscore' });
    expect(JSON.stringify(props.dataset)).toContain('"pattern":"\\\\.jsonl$"');
    expect(experiment.additionalProperties).toMatchObject({ type: 'object' });
    const studyProps = study.properties as Record<string, Record<string, unknown>>;
    expect(Object.keys(studyProps)).toEqual(
      expect.arrayContaining(['sweep', 'cycles', 'order', 'gaps', 'model', 'decoder']),
    );
    expect(study.required).toBeUndefined();
    const items = studyProps.experiments?.items as Record<string, unknown> | undefined;
    expect(items?.properties).toHaveProperty('precision');
  });

  it('includes a backend section exactly when its schema is given', () => {
    const pytorch = z.strictObject({ batch_size: z.number().int().min(1).default(1) });
    const { 'experiment-config.schema.json': experiment } = generateJsonSchemas({ backends: { pytorch } });
    expect((experiment.properties as Record<string, unknown>).pytorch).toMatchObject({
      type: 'object',
      properties: { batch_size: { type: 'integer', minimum: 1, default: 1 } },
      additionalProperties: false,
    });
  });

  it('the result schema requires every top-level field and pins schema_version', () => {
    const { 'result.schema.json': result } = generateJsonSchemas();
    expect(result.required).toEqual(
      expect.arrayContaining(['schema_version', 'config_hash', 'energy', 'efficiency', 'files']),
    );
    expect((result.properties as Record<string, Record<string, unknown>>).schema_version).toMatchObject({
      const: '1.0',
    });
    expect(result.additionalProperties).toBe(false);
  });
});
