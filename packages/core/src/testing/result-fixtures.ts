import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { resolveExperimentConfig } from '../config/resolve.js';
import { type ExperimentResult, ExperimentResultSchema } from '../results/experiment-result.js';
import type { TimeseriesRow } from '../results/timeseries.js';

/**
 * ExperimentResult fixtures. Every fixture is parsed by ExperimentResultSchema, so a schema change
 * that the fixtures do not follow fails here instead of testing a shape that no longer exists.
 */

export interface FixtureOptions {
  model?: string;
  precision?: 'fp32' | 'fp16' | 'bf16';
  batchSize?: number;
  /** Extra raw config fields (e.g. decoder: { temperature: 0.7 }). */
  config?: Record<string, unknown>;
  cycle?: number | null;
  studyId?: string | null;
  experimentId?: string;
  energyJ?: number | null;
  adjustedJ?: number | null;
  outputTokens?: number;
  windowS?: number;
  ttftP50?: number | null;
  itlP50?: number | null;
  qualityOk?: boolean;
  warnings?: string[];
  files?: Record<string, string>;
}

const latency = (p50: number | null) => ({
  count: 10,
  mean: p50,
  p50,
  p90: p50,
  p99: p50,
  min: p50,
  max: p50,
});

export function makeResult(options: FixtureOptions = {}): ExperimentResult {
  const batchSize = options.batchSize ?? 1;
  const { config, configHash } = resolveExperimentConfig({
    model: options.model ?? 'builtin:tiny-gpt2',
    precision: options.precision ?? 'fp32',
    pytorch: { batch_size: batchSize },
    ...options.config,
  });
  const windowS = options.windowS ?? 10;
  const outputTokens = options.outputTokens ?? 1000;
  const energyJ = options.energyJ === undefined ? 500 : options.energyJ;
  const adjustedJ =
    options.adjustedJ === undefined ? (energyJ === null ? null : energyJ * 0.6) : options.adjustedJ;
  const basisJ = adjustedJ ?? energyJ;
  const cycle = options.cycle === undefined ? 0 : options.cycle;
  const startNs = 5_000_000_000_000n;
  const endNs = startNs + BigInt(Math.round(windowS * 1e9));
  const ttft = options.ttftP50 === undefined ? 25 : options.ttftP50;
  const itl = options.itlP50 === undefined ? 8 : options.itlP50;
  return ExperimentResultSchema.parse({
    schema_version: '1.0',
    experiment_id: options.experimentId ?? `exp-${configHash.slice(0, 8)}-c${cycle ?? 0}`,
    config_hash: configHash,
    study_id: options.studyId === undefined ? 'study-1' : options.studyId,
    cycle,
    attempt: 1,
    llem_version: '0.1.0',
    config,
    backend: { name: 'pytorch', version: '2.5.0', launch: 'local' },
    model: config.model,
    timings: {
      started_utc: '2026-11-28T10:00:00.000Z',
      finished_utc: '2026-11-28T10:01:00.000Z',
      wall_s: 60,
      baseline_s: 30,
      process_s: 20,
      gap_before_s: null,
    },
    window: {
      start_mono_ns: startNs.toString(),
      end_mono_ns: endNs.toString(),
      start_utc: '2026-11-28T10:00:40.000Z',
      end_utc: '2026-11-28T10:00:50.000Z',
      duration_s: windowS,
    },
    workload: {
      requests: 100,
      batches: Math.ceil(100 / batchSize),
      input_tokens: 5000,
      output_tokens: outputTokens,
      total_tokens: 5000 + outputTokens,
      output_tokens_per_s: outputTokens / windowS,
      total_tokens_per_s: (5000 + outputTokens) / windowS,
      requests_per_s: 100 / windowS,
      latency:
        ttft === null && itl === null
          ? null
          : {
              ttft_ms: latency(ttft),
              itl_ms: latency(itl),
              tpot_ms: latency(itl),
              e2e_ms: latency(1000),
              method: 'streamer',
            },
    },
    energy:
      energyJ === null
        ? null
        : {
            window_s: windowS,
            devices: [
              {
                device_id: 'gpu0',
                kind: 'gpu',
                name: 'NVIDIA H100',
                sampler: 'nvml',
                source: 'counter',
                energy_j: energyJ,
                baseline_power_w: 20,
                baseline_j: adjustedJ === null ? null : energyJ - adjustedJ,
                adjusted_j: adjustedJ,
                mean_power_w: energyJ / windowS,
                peak_power_w: (energyJ / windowS) * 1.2,
                cross_check_j: energyJ * 1.01,
                disagreement_pct: 1,
              },
            ],
            total: {
              measured_j: energyJ,
              estimated_j: 0,
              baseline_j: adjustedJ === null ? null : energyJ - adjustedJ,
              adjusted_j: adjustedJ,
            },
            baseline: null,
            quality: {
              ok: options.qualityOk ?? true,
              warnings:
                options.qualityOk === false
                  ? [
                      {
                        code: 'short-window',
                        severity: 'warn',
                        message: 'window shorter than 5 s',
                        device_id: null,
                      },
                    ]
                  : [],
              counter_updates: 100,
              counter_wraps: 0,
              counter_regressions: 0,
              max_sample_gap_ms: 110,
              throttled: false,
            },
          },
    efficiency: {
      energy_per_output_token_j: basisJ === null ? null : basisJ / outputTokens,
      energy_per_request_j: basisJ === null ? null : basisJ / 100,
      output_tokens_per_j: basisJ === null ? null : outputTokens / basisJ,
      basis: basisJ === null ? null : adjustedJ === null ? 'raw' : 'adjusted',
    },
    warmup: null,
    memory: null,
    flops: null,
    environment: { host: 'test' },
    energy_cross_check: null,
    warnings: options.warnings ?? [],
    files: options.files ?? {},
  });
}

/** A fresh temp directory, removed after the test. */
/** A gpu0 NVML timeseries row that carries power only (what the timeline charts draw). */
export function powerRow(
  row: Pick<TimeseriesRow, 't_rel_s' | 'power_w' | 'in_window'> & Partial<TimeseriesRow>,
): TimeseriesRow {
  return {
    device_id: 'gpu0',
    sampler: 'nvml',
    source: 'counter',
    energy_mj: null,
    temperature_c: null,
    sm_clock_mhz: null,
    throttle_reasons: null,
    memory_used_bytes: null,
    utilisation_pct: null,
    ...row,
  };
}

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'llem-results-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
