import { z } from 'zod';
import { LatencyStatsSchema } from './workload-result.js';

/**
 * result.json's `serving` block: a serving backend's run (an inference server under load), written
 * by backends that measure servers (`@llem/backend-openai`). Absent for offline backends.
 * docs/results.md, "Serving", describes every field.
 */

/** J/request percentiles (count = requests counted). */
export const EnergyStatsSchema = LatencyStatsSchema;

export const ServingWindowSchema = z.strictObject({
  /** ms since the load's t0. */
  start_ms: z.number().nonnegative(),
  end_ms: z.number().nonnegative(),
  duration_s: z.number().nonnegative(),
  /** Headline energy of the window (adjusted measured, else raw measured, else estimate), null when not measured. */
  energy_j: z.number().nonnegative().nullable(),
  energy_basis: z.enum(['adjusted', 'raw', 'estimate']).nullable(),
  /** True when the window is too short for the energy counter (as the energy quality block flags a short window). */
  short: z.boolean(),
  /** Requests that finished in the window, and output tokens that arrived in it. */
  requests: z.number().int().nonnegative(),
  output_tokens: z.number().nonnegative(),
});
export type ServingWindow = z.infer<typeof ServingWindowSchema>;

export const ServingSchema = z.strictObject({
  /** `closed` (a fixed number of requests in flight) or `open` (arrivals at a rate). */
  mode: z.enum(['closed', 'open']),
  concurrency: z.number().int().positive().nullable(),
  request_rate: z.number().positive().nullable(),
  /** Open loop: gamma shape of the inter-arrival times (1 = Poisson). */
  burstiness: z.number().positive().nullable(),
  api: z.enum(['chat', 'completions']),
  /** The model name sent in each request. */
  model: z.string(),
  server: z.strictObject({
    /** `started`: llem started the server in the workload's process group; `endpoint`: already running. */
    kind: z.enum(['started', 'endpoint']),
    /** Whether the server's processes are llem's (their energy and GPU use can be attributed to this run). */
    attributable: z.boolean(),
    note: z.string(),
  }),
  windows: z.strictObject({
    whole: ServingWindowSchema,
    /** Closed loop: target concurrency first reached → first completion of the drain; open loop: after warm-up → last arrival. */
    steady: ServingWindowSchema.nullable(),
    /** Which window result.json's `window`, `energy` and `efficiency` describe. */
    headline: z.enum(['steady', 'whole']),
  }),
  requests: z.strictObject({
    count: z.number().int().nonnegative(),
    ok: z.number().int().nonnegative(),
    errors: z.number().int().nonnegative(),
    timeouts: z.number().int().nonnegative(),
    aborted: z.number().int().nonnegative(),
    /** (errors + timeouts) / count. */
    error_rate: z.number().min(0).max(1),
    max_error_rate: z.number().min(0).max(1),
    /** `usage` (the server's counts), `chunks` (approximate: one streamed chunk = one token), or `mixed`. */
    token_source: z.enum(['usage', 'chunks', 'mixed']),
    ttft_ms: LatencyStatsSchema,
    itl_ms: LatencyStatsSchema,
    tpot_ms: LatencyStatsSchema,
    e2e_ms: LatencyStatsSchema,
    requests_per_s: z.number().nonnegative(),
    output_tokens_per_s: z.number().nonnegative(),
  }),
  /** Per-request energy over the whole window; null when energy was not measured. */
  per_request_energy: z
    .strictObject({
      window: z.literal('whole'),
      method: z.string(),
      /** Weight of one prompt (prefill) token relative to one output token. */
      prefill_weight: z.number().nonnegative(),
      basis: z.enum(['adjusted', 'raw', 'estimate']),
      /** The window energy split; the per-request shares sum to it. */
      total_j: z.number().nonnegative(),
      /** Over the requests that finished ok. */
      j_per_request: EnergyStatsSchema,
      j_per_output_token: z.number().nonnegative().nullable(),
      /** Energy spent while no request was in flight, shared out as the method says. */
      idle_j: z.number().nonnegative(),
      intervals: z.number().int().nonnegative(),
    })
    .nullable(),
  /** The per-request file next to result.json (one JSON object per request). */
  requests_file: z.string(),
});
export type Serving = z.infer<typeof ServingSchema>;
