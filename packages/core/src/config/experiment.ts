import { z } from 'zod';
import { sanitizeExperimentId } from '../security/ids.js';

/** An id is also a file and row name somewhere: the same rule as the stores' (no .., /, NUL, ...). */
function isSafeExperimentId(id: string): boolean {
  try {
    sanitizeExperimentId(id);
    return true;
  } catch {
    return false;
  }
}

/**
 * The experiment config, as users write it in YAML (snake_case, like the original llem).
 * Core validates everything but the backend's own section (`pytorch:` ...), which the
 * backend plugin's `configSchema` validates. `.prefault({})` makes nested defaults apply
 * when a section is omitted.
 */

export const PRECISIONS = ['fp32', 'fp16', 'bf16'] as const;
export type Precision = (typeof PRECISIONS)[number];

export const DECODER_PRESETS = {
  deterministic: { temperature: 0, do_sample: false },
  standard: { temperature: 1, do_sample: true, top_p: 0.95 },
  creative: { temperature: 0.8, do_sample: true, top_p: 0.9, repetition_penalty: 1.1 },
  factual: { temperature: 0.3, do_sample: true },
} as const satisfies Record<string, Record<string, number | boolean>>;
export type DecoderPreset = keyof typeof DECODER_PRESETS;

const DecoderFieldsSchema = z
  .strictObject({
    preset: z.enum(Object.keys(DECODER_PRESETS) as [DecoderPreset, ...DecoderPreset[]]).optional(),
    temperature: z.number().min(0).max(2).default(1),
    do_sample: z.boolean().default(true),
    top_k: z.number().int().min(0).default(50).describe('0 disables top-k'),
    top_p: z.number().min(0).max(1).default(1),
    repetition_penalty: z.number().min(0.1).max(10).default(1),
    min_p: z.number().min(0).max(1).nullable().default(null),
    min_new_tokens: z.number().int().min(1).nullable().default(null),
  })
  .describe('Decoding settings. A preset fills in values; keys you set explicitly win.');

/** Expands `preset` before validation: `{...PRESET, ...user}`, so explicit keys win. */
export const DecoderConfigSchema = z.preprocess((value) => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const preset = (value as { preset?: unknown }).preset;
  if (typeof preset !== 'string' || !(preset in DECODER_PRESETS)) return value;
  return { ...DECODER_PRESETS[preset as DecoderPreset], ...value };
}, DecoderFieldsSchema);

export const WarmupConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    n_warmup: z.number().int().min(1).default(5).describe('Warmup prompts (fixed mode)'),
    convergence_detection: z
      .boolean()
      .default(false)
      .describe('Warm up until latency CV falls below cv_threshold'),
    cv_threshold: z.number().min(0.01).max(0.5).default(0.05),
    window_size: z.number().int().min(3).default(5),
    min_prompts: z.number().int().min(1).default(5),
    max_prompts: z.number().int().min(1).default(20),
    thermal_floor_seconds: z
      .number()
      .min(0)
      .max(3600)
      .default(0)
      .describe('Wait after warmup before measuring'),
  })
  .refine((w) => w.min_prompts <= w.max_prompts, {
    message: 'min_prompts must be <= max_prompts',
    path: ['min_prompts'],
  })
  .refine((w) => w.window_size <= w.max_prompts, {
    message: 'window_size must be <= max_prompts',
    path: ['window_size'],
  });

export const BaselineConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  duration_seconds: z.number().gt(0).max(600).default(30),
  cache_ttl_seconds: z
    .number()
    .min(0)
    .default(1800)
    .describe('Reuse a cached idle baseline this long (0: always fresh)'),
});

export const ENERGY_SAMPLERS = ['nvml', 'rapl', 'cpu-estimate'] as const;
export type EnergySamplerName = (typeof ENERGY_SAMPLERS)[number];

export const EnergyConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  samplers: z
    .union([z.literal('auto'), z.array(z.enum(ENERGY_SAMPLERS)).min(1)])
    .default('auto')
    .describe('auto: every sampler whose probe succeeds'),
  sample_interval_ms: z.number().int().min(10).max(10_000).default(100),
  cpu_tdp_watts: z
    .number()
    .positive()
    .nullable()
    .default(null)
    .describe('TDP for the CPU estimate when no counter exists'),
  quality_policy: z.enum(['warn', 'fail']).default('warn'),
  min_window_seconds: z.number().min(0).default(5),
  max_disagreement_pct: z.number().min(0).default(10),
});

const SyntheticDatasetSchema = z.strictObject({
  source: z.literal('synthetic'),
  input_len: z.number().int().min(1).default(128),
});
const JsonlDatasetSchema = z.strictObject({ source: z.literal('jsonl'), path: z.string().min(1) });
const NamedDatasetSchema = z.strictObject({ source: z.literal('aienergyscore') });
export const DatasetSchema = z.discriminatedUnion('source', [
  NamedDatasetSchema,
  JsonlDatasetSchema,
  SyntheticDatasetSchema,
]);
export type DatasetConfig = z.infer<typeof DatasetSchema>;

/** `dataset: aienergyscore` / `dataset: prompts.jsonl` are shorthands for the object forms. */
const DatasetInputSchema = z.preprocess((value) => {
  if (typeof value !== 'string') return value;
  if (value === 'aienergyscore') return { source: 'aienergyscore' };
  if (value === 'synthetic') return { source: 'synthetic' };
  if (value.endsWith('.jsonl')) return { source: 'jsonl', path: value };
  return value;
}, DatasetSchema);

/** `launch:` in a config: a launch mode, or `auto` (Docker when it is ready, else local). */
export const LAUNCH_CHOICES = ['auto', 'local', 'docker'] as const;
export type LaunchChoice = (typeof LAUNCH_CHOICES)[number];

/** The backend of an experiment that names none. */
export const DEFAULT_BACKEND = 'pytorch';

/** Fields every experiment has, whatever its backend. */
export const ExperimentConfigBaseSchema = z.strictObject({
  id: z
    .string()
    .min(1)
    .refine(
      isSafeExperimentId,
      'ids use ASCII letters, digits, ".", "_" and "-", start with a letter or digit, contain no ".." and have at most 128 characters',
    )
    .optional()
    .describe('Optional display id; not part of the hash'),
  name: z.string().optional(),
  model: z.string().min(1).describe('HF model id, local path, or builtin:tiny-gpt2'),
  backend: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/, 'backend names are lowercase letters, digits and "-"')
    .default(DEFAULT_BACKEND),
  n: z.number().int().min(1).default(100).describe('Number of prompts measured'),
  dataset: DatasetInputSchema.default({ source: 'aienergyscore' }),
  dataset_order: z.enum(['interleaved', 'grouped', 'shuffled']).default('interleaved'),
  precision: z.enum(PRECISIONS).default('bf16'),
  random_seed: z.number().int().default(42),
  max_input_tokens: z.number().int().min(1).default(512),
  max_output_tokens: z.number().int().min(1).default(128),
  gpus: z
    .array(z.number().int().min(0))
    .min(1)
    .nullable()
    .default(null)
    .describe('GPU indices; null = all visible'),
  decoder: DecoderConfigSchema.prefault({}),
  warmup: WarmupConfigSchema.prefault({}),
  baseline: BaselineConfigSchema.prefault({}),
  energy: EnergyConfigSchema.prefault({}),
  // Volatile: never hashed (see VOLATILE_CONFIG_KEYS).
  launch: z
    .enum(LAUNCH_CHOICES)
    .optional()
    .describe(
      'local process group, docker container, or auto (docker when ready); `runner:` is its old name',
    ),
  timeout_seconds: z.number().positive().optional(),
  output_dir: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  plugins: z.array(z.string()).optional(),
});

export type ExperimentConfigBase = z.infer<typeof ExperimentConfigBaseSchema>;

/**
 * A resolved experiment config: base fields with defaults applied, plus the backend's own
 * section under the key named by `backend` (for example `pytorch: {...}`).
 */
export type ExperimentConfig = ExperimentConfigBase & { [backendSection: string]: unknown };

export const EXPERIMENT_BASE_KEYS: readonly string[] = Object.keys(ExperimentConfigBaseSchema.shape);

export function backendSection(config: ExperimentConfig): Record<string, unknown> {
  const section = config[config.backend];
  return section !== null && typeof section === 'object' ? (section as Record<string, unknown>) : {};
}
