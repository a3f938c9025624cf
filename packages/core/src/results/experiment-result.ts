import { z } from 'zod';
import { EnergyMeasurementSchema } from '../energy/measurement.js';
import { ServingSchema } from './serving.js';
import { LatencySchema, MeasurementWindowSchema, WorkloadReportFields } from './workload-result.js';

/** Bumped on any breaking change to result.json; readers refuse a newer major. */
export const RESULT_SCHEMA_VERSION = '1.0' as const;

/**
 * `result.json`: the one result every backend fills (the backend reports the workload, the meter
 * the energy, the orchestrator the rest). snake_case, like the config, for pandas users.
 */
export const ExperimentResultSchema = z.strictObject({
  schema_version: z.literal(RESULT_SCHEMA_VERSION),
  experiment_id: z.string(),
  config_hash: z.string().regex(/^[0-9a-f]{16}$/),
  study_id: z.string().nullable(),
  cycle: z.number().int().nonnegative().nullable(),
  attempt: z.number().int().nonnegative(),
  llem_version: z.string(),
  /** The resolved config (defaults applied) whose hash is config_hash. */
  config: z.record(z.string(), z.unknown()),
  backend: z.strictObject({
    name: z.string(),
    version: z.string().nullable(),
    launch: z.enum(['local', 'docker']),
  }),
  model: z.string(),
  timings: z.strictObject({
    started_utc: z.string(),
    finished_utc: z.string(),
    wall_s: z.number().nonnegative(),
    baseline_s: z.number().nonnegative().nullable(),
    process_s: z.number().nonnegative(),
    gap_before_s: z.number().nonnegative().nullable(),
  }),
  window: MeasurementWindowSchema,
  workload: z.strictObject({
    requests: z.number().int().nonnegative(),
    batches: z.number().int().nonnegative(),
    input_tokens: z.number().int().nonnegative(),
    output_tokens: z.number().int().nonnegative(),
    total_tokens: z.number().int().nonnegative(),
    output_tokens_per_s: z.number().nonnegative(),
    total_tokens_per_s: z.number().nonnegative(),
    requests_per_s: z.number().nonnegative(),
    latency: LatencySchema.nullable(),
  }),
  /** Null when energy measurement is disabled or no sampler is available. */
  energy: EnergyMeasurementSchema.nullable(),
  efficiency: z.strictObject({
    /** Adjusted (else raw) measured joules per output token. */
    energy_per_output_token_j: z.number().nonnegative().nullable(),
    energy_per_request_j: z.number().nonnegative().nullable(),
    output_tokens_per_j: z.number().nonnegative().nullable(),
    /** Which energy figure the above use: adjusted, raw, estimate. */
    basis: z.enum(['adjusted', 'raw', 'estimate']).nullable(),
    /** The energy's uncertainty (energy.total.uncertainty.total_j) carried to J/token (token counts are exact). */
    energy_per_output_token_uncertainty_j: z.number().nonnegative().nullable().optional(),
    /** The same carried to J/request. */
    energy_per_request_uncertainty_j: z.number().nonnegative().nullable().optional(),
  }),
  ...WorkloadReportFields,
  /** A serving backend's run (server under load, per-request energy); absent for offline backends. */
  serving: ServingSchema.optional(),
  /** Relative file names of sidecars (timeseries.csv / .parquet, logs). */
  files: z.record(z.string(), z.string()),
});
export type ExperimentResult = z.infer<typeof ExperimentResultSchema>;
