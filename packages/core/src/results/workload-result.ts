import { z } from 'zod';

/** mean / percentiles of a latency sample, in milliseconds. */
export const LatencyStatsSchema = z.strictObject({
  count: z.number().int().nonnegative(),
  mean: z.number().nullable(),
  p50: z.number().nullable(),
  p90: z.number().nullable(),
  p99: z.number().nullable(),
  min: z.number().nullable(),
  max: z.number().nullable(),
});
export type LatencyStats = z.infer<typeof LatencyStatsSchema>;

/** The latency block of a workload, carried as is into result.json (names as in vLLM/AIPerf). */
export const LatencySchema = z.strictObject({
  ttft_ms: LatencyStatsSchema,
  itl_ms: LatencyStatsSchema,
  tpot_ms: LatencyStatsSchema,
  e2e_ms: LatencyStatsSchema,
  method: z.string().describe('how per-token timestamps were taken'),
});
export type Latency = z.infer<typeof LatencySchema>;

export const MeasurementWindowSchema = z.strictObject({
  start_mono_ns: z.string().regex(/^\d+$/),
  end_mono_ns: z.string().regex(/^\d+$/),
  start_utc: z.string(),
  end_utc: z.string(),
  duration_s: z.number().nonnegative(),
});
export type MeasurementWindow = z.infer<typeof MeasurementWindowSchema>;

/** What a workload reports beside its counts and timings; result.json carries these fields as is. */
export const WorkloadReportFields = {
  warmup: z.record(z.string(), z.unknown()).nullable(),
  memory: z.record(z.string(), z.unknown()).nullable(),
  flops: z.record(z.string(), z.unknown()).nullable(),
  environment: z.record(z.string(), z.unknown()),
  /** Energy the workload read itself (e.g. NVML in-process), to cross-check the host meter. */
  energy_cross_check: z.record(z.string(), z.unknown()).nullable(),
  warnings: z.array(z.string()),
};

/**
 * What a backend reports about the workload it ran (no energy: that is the meter's job).
 * Token counts are honest: input without padding, output up to and including EOS.
 * Latency names follow vLLM/AIPerf: TTFT (request start → first token), ITL (gap between
 * consecutive tokens of one request), TPOT ((e2e − TTFT) / (output tokens − 1)).
 */
export const WorkloadResultSchema = z.object({
  workload_schema_version: z.literal(1),
  backend: z.string(),
  backend_version: z.string().nullable(),
  model: z.string(),
  window: MeasurementWindowSchema,
  requests: z.number().int().nonnegative(),
  batches: z.number().int().nonnegative(),
  tokens: z.strictObject({
    input: z.number().int().nonnegative(),
    output: z.number().int().nonnegative(),
    total: z.number().int().nonnegative(),
    per_request_output: z.array(z.number().int().nonnegative()).optional(),
  }),
  throughput: z.strictObject({
    output_tokens_per_s: z.number().nonnegative(),
    total_tokens_per_s: z.number().nonnegative(),
    requests_per_s: z.number().nonnegative(),
  }),
  latency: LatencySchema.nullable(),
  ...WorkloadReportFields,
  extra: z.record(z.string(), z.unknown()).optional(),
});
export type WorkloadResult = z.infer<typeof WorkloadResultSchema>;
