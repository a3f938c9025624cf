import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type BackendCatalog,
  type BackendPlugin,
  type ConfigError,
  resolveExperimentConfig,
} from '../src/index.js';
import { configErrorOf } from './helpers/config-error.js';

function backend(name: string, schema: z.ZodType, extra: Partial<BackendPlugin> = {}): BackendPlugin {
  return {
    name,
    configSchema: schema,
    prepare: async () => {
      throw new Error('not used');
    },
    collect: async () => {
      throw new Error('not used');
    },
    ...extra,
  };
}

const catalog = (...plugins: BackendPlugin[]): BackendCatalog => ({
  get: (name) => plugins.find((p) => p.name === name),
  names: () => plugins.map((p) => p.name),
});

const backends = catalog(
  backend('pytorch', z.strictObject({ batch_size: z.number().int().min(1).default(1) }), {
    supportedPrecisions: ['fp32', 'fp16', 'bf16'],
  }),
  backend('vllm', z.strictObject({ tensor_parallel: z.number().int().default(1) }), {
    supportedPrecisions: ['fp16', 'bf16'],
  }),
);

function errorOf(raw: unknown, options = {}): ConfigError {
  const error = configErrorOf(() => resolveExperimentConfig(raw, options));
  expect(error.exitCode).toBe(2);
  return error;
}

describe('resolveExperimentConfig', () => {
  it('applies every default and the backend section defaults', () => {
    const { config } = resolveExperimentConfig({ model: 'gpt2' }, { backends });
    expect(config).toMatchObject({
      backend: 'pytorch',
      n: 100,
      precision: 'bf16',
      dataset: { source: 'aienergyscore' },
      decoder: { temperature: 1, do_sample: true, top_k: 50, top_p: 1 },
      warmup: { enabled: true, n_warmup: 5 },
      pytorch: { batch_size: 1 },
    });
    expect(config.decoder).not.toHaveProperty('preset');
  });

  it.each([
    [
      { model: 'gpt2', precison: 'fp16' },
      /precison: unknown field 'precison' \(did you mean 'precision'\?\)/,
    ],
    [{ model: 'gpt2', decoder: { temprature: 1 } }, /decoder\.temprature: unknown field.*'temperature'/],
    [{ model: 'gpt2', warmup: { n_warmpu: 3 } }, /warmup\.n_warmpu.*'n_warmup'/],
    [{ model: 'gpt2', pytorch: { batch_sise: 2 } }, /pytorch\.batch_sise.*'batch_size'/],
  ])('names an unknown key with a did-you-mean: %j', (raw, pattern) => {
    expect(errorOf(raw, { backends }).message).toMatch(pattern);
  });

  it.each([
    [{ model: 'gpt2', n: 'ten' }, /^n: expected number, got the string "ten"/m],
    [{ model: 'gpt2', n: 1.5 }, /^n: /m],
    [{ model: 42 }, /^model: expected string/m],
    [{}, /^model: required field is missing/m],
    [{ model: 'gpt2', precision: 'int3' }, /^precision: must be one of "fp32", "fp16", "bf16"/m],
    [{ model: 'gpt2', decoder: 'greedy' }, /^decoder: expected object, got the string "greedy"/m],
    [{ model: 'gpt2', gpus: [] }, /^gpus: /m],
  ])('reports wrong types with the field path: %j', (raw, pattern) => {
    expect(errorOf(raw).message).toMatch(pattern);
  });

  it.each([
    [{ decoder: { temperature: 2.5 } }, 'decoder.temperature'],
    [{ decoder: { top_p: -0.1 } }, 'decoder.top_p'],
    [{ n: 0 }, 'n'],
    [{ max_output_tokens: 0 }, 'max_output_tokens'],
    [{ warmup: { min_prompts: 30, max_prompts: 20 } }, 'warmup.min_prompts'],
    [{ baseline: { duration_seconds: 0 } }, 'baseline.duration_seconds'],
    [{ energy: { sample_interval_ms: 5 } }, 'energy.sample_interval_ms'],
  ])('enforces ranges: %j', (change, path) => {
    expect(errorOf({ model: 'gpt2', ...change }).message).toMatch(
      new RegExp(`^${path.replace('.', '\\.')}: `, 'm'),
    );
  });

  it('lists every problem at once and names the source file', () => {
    const error = errorOf({ model: 'gpt2', n: 0, precison: 'x' }, { source: 'exp.yaml' });
    const lines = error.message.split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line.startsWith('exp.yaml: ')).toBe(true);
    expect(error.fix).toMatch(/llem config schema/);
  });

  it('presets fill in values and explicit keys win', () => {
    const preset = resolveExperimentConfig({ model: 'gpt2', decoder: { preset: 'deterministic' } }).config
      .decoder;
    expect(preset).toMatchObject({ temperature: 0, do_sample: false });
    const mixed = resolveExperimentConfig({ model: 'gpt2', decoder: { preset: 'creative', top_p: 0.5 } })
      .config.decoder;
    expect(mixed).toMatchObject({ temperature: 0.8, do_sample: true, top_p: 0.5, repetition_penalty: 1.1 });
    expect(errorOf({ model: 'gpt2', decoder: { preset: 'wild' } }).message).toMatch(
      /decoder\.preset: must be one of/,
    );
  });

  it('a preset hashes like its spelled-out values', () => {
    const viaPreset = resolveExperimentConfig({ model: 'gpt2', decoder: { preset: 'factual' } }).configHash;
    const spelled = resolveExperimentConfig({
      model: 'gpt2',
      decoder: { temperature: 0.3, do_sample: true },
    }).configHash;
    expect(viaPreset).toBe(spelled);
  });

  it('rejects a section for another backend', () => {
    expect(errorOf({ model: 'gpt2', backend: 'pytorch', vllm: {} }, { backends }).message).toMatch(
      /^vllm: a 'vllm:' section was given but backend is 'pytorch'/m,
    );
  });

  it('rejects an unknown backend with a hint and the installed list', () => {
    expect(errorOf({ model: 'gpt2', backend: 'vlm' }, { backends }).message).toMatch(
      /backend: unknown backend 'vlm' \(did you mean 'vllm'\?\); installed: pytorch, vllm/,
    );
  });

  it('checks the precision against the backend', () => {
    expect(errorOf({ model: 'gpt2', backend: 'vllm', precision: 'fp32' }, { backends }).message).toMatch(
      /precision: backend 'vllm' does not support fp32/,
    );
  });

  it('prefixes paths for configs nested in a study', () => {
    expect(errorOf({ model: 'gpt2', n: 0 }, { pathPrefix: ['experiments', 2] }).message).toMatch(
      /^experiments\[2\]\.n: /m,
    );
  });

  it('dataset shorthands expand to their object forms', () => {
    expect(resolveExperimentConfig({ model: 'm', dataset: 'prompts.jsonl' }).config.dataset).toEqual({
      source: 'jsonl',
      path: 'prompts.jsonl',
    });
    expect(resolveExperimentConfig({ model: 'm', dataset: 'synthetic' }).config.dataset).toEqual({
      source: 'synthetic',
      input_len: 128,
    });
  });
});
