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
    preset: z
      .enum(Object.keys(DECODER_PRESETS) as [DecoderPreset, ...DecoderPreset[]])
      .optional()
      .describe('deterministic, standard, creative or factual: fills in the decoding values below'),
    temperature: z
      .number()
      .min(0)
      .max(2)
      .default(1)
      .describe('Sampling temperature (0 with do_sample false: greedy)'),
    do_sample: z.boolean().default(true).describe('Sample from the distribution (false: greedy decoding)'),
    top_k: z.number().int().min(0).default(50).describe('0 disables top-k'),
    top_p: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe('Nucleus sampling: keep the smallest set of tokens whose probability reaches this'),
    repetition_penalty: z
      .number()
      .min(0.1)
      .max(10)
      .default(1)
      .describe('Penalty for repeated tokens (1: none)'),
    min_p: z
      .number()
      .min(0)
      .max(1)
      .nullable()
      .default(null)
      .describe('Drop tokens less likely than this times the most likely one (null: off)'),
    min_new_tokens: z
      .number()
      .int()
      .min(1)
      .nullable()
      .default(null)
      .describe('Generate at least this many tokens before EOS may stop (null: no minimum)'),
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
    enabled: z.boolean().default(true).describe('Warm up the model before measuring'),
    n_warmup: z.number().int().min(1).default(5).describe('Warmup prompts (fixed mode)'),
    convergence_detection: z
      .boolean()
      .default(false)
      .describe('Warm up until latency CV falls below cv_threshold'),
    cv_threshold: z
      .number()
      .min(0.01)
      .max(0.5)
      .default(0.05)
      .describe('Convergence: stop when the latency coefficient of variation falls below this'),
    window_size: z
      .number()
      .int()
      .min(3)
      .default(5)
      .describe('Convergence: prompts in the sliding latency window'),
    min_prompts: z
      .number()
      .int()
      .min(1)
      .default(5)
      .describe('Convergence: warm up with at least this many prompts'),
    max_prompts: z
      .number()
      .int()
      .min(1)
      .default(20)
      .describe('Convergence: warm up with at most this many prompts'),
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
  enabled: z.boolean().default(true).describe('Measure idle power before the workload and subtract it'),
  duration_seconds: z.number().gt(0).max(600).default(30).describe('How long the idle baseline is measured'),
  cache_ttl_seconds: z
    .number()
    .min(0)
    .default(1800)
    .describe('Reuse a cached idle baseline this long (0: always fresh)'),
});

export const ENERGY_SAMPLERS = ['nvml', 'rapl', 'cpu-estimate', 'simulated'] as const;
export type EnergySamplerName = (typeof ENERGY_SAMPLERS)[number];

/** The GPUs the simulated sampler can imitate (their sensor parameters: @llem/energy simulated profiles). */
export const SIMULATED_GPU_PROFILES = ['a100', 'h100', 'h200', 'l4'] as const;
export type SimulatedGpuProfileName = (typeof SIMULATED_GPU_PROFILES)[number];

export const SimulatedGpuConfigSchema = z.strictObject({
  profile: z.enum(SIMULATED_GPU_PROFILES).default('h100').describe('The GPU whose sensors are imitated'),
  gpus: z.number().int().min(1).max(16).default(1).describe('How many simulated boards'),
  seed: z.number().int().default(1).describe('Seeds the per-board gain error and the utilisation bursts'),
  idle_w: z.number().positive().optional().describe("Idle power per board (default: the profile's)"),
  tdp_w: z.number().positive().optional().describe("Board power limit (default: the profile's)"),
  utilisation: z
    .number()
    .min(0)
    .max(1)
    .default(0.7)
    .describe('Mean utilisation while the workload runs (power = idle + (TDP - idle) x utilisation)'),
  burstiness: z
    .number()
    .min(0)
    .max(1)
    .default(0.5)
    .describe('How much utilisation varies from one 10 ms slot to the next (0: steady)'),
  gain_error_pct: z
    .number()
    .min(0)
    .max(50)
    .default(2)
    .describe('Largest per-board gain error of the simulated sensor, in percent (drawn from the seed)'),
  update_period_ms: z
    .number()
    .positive()
    .optional()
    .describe("Energy counter update period (default: the profile's)"),
  averaging_window_ms: z
    .number()
    .positive()
    .optional()
    .describe("Power reading's averaging window (default: the profile's)"),
  observed_fraction: z
    .number()
    .gt(0)
    .max(1)
    .optional()
    .describe("Part of each update period the sensor actually samples (default: the profile's)"),
  reload_after_s: z
    .number()
    .positive()
    .nullable()
    .default(null)
    .describe('Simulate a driver reload this many seconds after sampling starts: the counter resets to 0'),
});
export type SimulatedGpuConfig = z.infer<typeof SimulatedGpuConfigSchema>;

export const EnergyConfigSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Measure energy (false: throughput and latency only)'),
  samplers: z
    .union([z.literal('auto'), z.array(z.enum(ENERGY_SAMPLERS)).min(1)])
    .default('auto')
    .describe('auto: every sampler whose probe succeeds (never simulated: name it to use it)')
    .refine((v) => v === 'auto' || !v.includes('simulated') || v.length === 1, {
      message:
        'simulated cannot be combined with other samplers (simulated energy is never mixed with measured energy); use samplers: [simulated] alone',
    }),
  simulated: SimulatedGpuConfigSchema.optional().describe(
    'The simulated GPU (used only when samplers lists simulated; default profile h100)',
  ),
  sensor_error_pct: z
    .number()
    .min(0)
    .max(100)
    .optional()
    .describe("Assumed systematic error of each board's energy sensor, in percent (default 5: NVML's ±5 %)"),
  sample_interval_ms: z
    .number()
    .int()
    .min(10)
    .max(10_000)
    .default(100)
    .describe('Milliseconds between power samples'),
  cpu_tdp_watts: z
    .number()
    .positive()
    .nullable()
    .default(null)
    .describe('TDP for the CPU estimate when no counter exists'),
  quality_policy: z
    .enum(['warn', 'fail'])
    .default('warn')
    .describe('A measurement that fails its quality checks: warn (keep it) or fail the run'),
  min_window_seconds: z
    .number()
    .min(0)
    .default(5)
    .describe('A measured window shorter than this is flagged (too short for the samplers)'),
  max_disagreement_pct: z
    .number()
    .min(0)
    .default(10)
    .describe('Flag when two samplers of one device disagree by more than this percentage'),
});

const SyntheticDatasetSchema = z.strictObject({
  source: z.literal('synthetic').describe('synthetic: generated prompts of exactly input_len tokens'),
  input_len: z.number().int().min(1).default(128).describe('Tokens per synthetic prompt'),
});
const JsonlDatasetSchema = z.strictObject({
  source: z.literal('jsonl').describe('jsonl: prompts from a file of {"prompt": "..."} lines'),
  path: z
    .string()
    .min(1)
    .describe('The JSONL file; a relative path is taken from the folder of the config file'),
});
const NamedDatasetSchema = z.strictObject({
  source: z
    .literal('aienergyscore')
    .describe('aienergyscore: the 1,000 AI Energy Score prompts shipped with llem (works offline)'),
});
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
  name: z.string().optional().describe('Display name; not part of the hash'),
  model: z.string().min(1).describe('HF model id, local path, or builtin:tiny-gpt2'),
  backend: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/, 'backend names are lowercase letters, digits and "-"')
    .default(DEFAULT_BACKEND)
    .describe('The backend plugin that runs the workload (pytorch, or an installed plugin)'),
  n: z.number().int().min(1).default(100).describe('Number of prompts measured'),
  dataset: DatasetInputSchema.default({ source: 'aienergyscore' }).describe(
    'Prompts: aienergyscore, a .jsonl path, synthetic, or a mapping with source',
  ),
  dataset_order: z
    .enum(['interleaved', 'grouped', 'shuffled'])
    .default('interleaved')
    .describe("interleaved (round-robin over the records' source), grouped, or shuffled (seeded)"),
  precision: z.enum(PRECISIONS).default('bf16').describe('Weights and compute dtype'),
  random_seed: z
    .number()
    .int()
    .default(42)
    .describe('Seed of every random choice (sampling, shuffles, synthetic prompts)'),
  max_input_tokens: z.number().int().min(1).default(512).describe('Prompts are cut to this many tokens'),
  max_output_tokens: z.number().int().min(1).default(128).describe('Tokens generated per prompt (at most)'),
  gpus: z
    .array(z.number().int().min(0))
    .min(1)
    .nullable()
    .default(null)
    .describe('GPU indices; null = all visible'),
  decoder: DecoderConfigSchema.prefault({}).describe('Decoding settings (a preset, then explicit keys)'),
  warmup: WarmupConfigSchema.prefault({}).describe(
    'Warmup before the measured prompts: fixed count, or until latency converges',
  ),
  baseline: BaselineConfigSchema.prefault({}).describe(
    'Idle power measured before the workload, subtracted from its energy',
  ),
  energy: EnergyConfigSchema.prefault({}).describe('Energy measurement: samplers, interval, quality checks'),
  // Volatile: never hashed (see VOLATILE_CONFIG_KEYS).
  launch: z
    .enum(LAUNCH_CHOICES)
    .optional()
    .describe(
      'local process group, docker container, or auto (docker when ready); `runner:` is its old name',
    ),
  timeout_seconds: z
    .number()
    .positive()
    .optional()
    .describe('Stop the workload after this long (unset: no limit)'),
  output_dir: z.string().optional().describe('Results directory for this experiment (volatile: not hashed)'),
  metadata: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('Free-form labels copied into the result (not hashed)'),
  plugins: z
    .array(z.string())
    .optional()
    .describe("Plugin modules that provide this file's backends, relative to the file"),
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
