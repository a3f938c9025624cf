import type { ExperimentResult } from './experiment-result.js';

/**
 * The key metrics of one result, defined once: the study table, the aggregate, compare, the
 * summary row and the report all read them from here. docs/results.md explains each one.
 */

export type MetricKey =
  | 'energy_per_output_token_j'
  | 'energy_measured_j'
  | 'energy_adjusted_j'
  | 'output_tokens_per_s'
  | 'ttft_p50_ms'
  | 'itl_p50_ms'
  | 'tpot_p50_ms'
  | 'mean_power_w'
  | 'window_s';

export interface MetricDefinition {
  key: MetricKey;
  label: string;
  unit: string;
  /** Which direction is an improvement; null when neither is (window length). */
  better: 'lower' | 'higher' | null;
  get(result: ExperimentResult): number | null;
}

const finite = (value: number | null | undefined): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

export const KEY_METRICS: readonly MetricDefinition[] = [
  {
    key: 'energy_per_output_token_j',
    label: 'Energy per output token',
    unit: 'J/token',
    better: 'lower',
    get: (r) => finite(r.efficiency.energy_per_output_token_j),
  },
  {
    key: 'energy_measured_j',
    label: 'Energy (measured)',
    unit: 'J',
    better: 'lower',
    get: (r) => finite(r.energy?.total.measured_j),
  },
  {
    key: 'energy_adjusted_j',
    label: 'Energy (baseline-adjusted)',
    unit: 'J',
    better: 'lower',
    get: (r) => finite(r.energy?.total.adjusted_j),
  },
  {
    key: 'output_tokens_per_s',
    label: 'Output throughput',
    unit: 'tok/s',
    better: 'higher',
    get: (r) => finite(r.workload.output_tokens_per_s),
  },
  {
    key: 'ttft_p50_ms',
    label: 'TTFT p50',
    unit: 'ms',
    better: 'lower',
    get: (r) => finite(r.workload.latency?.ttft_ms.p50),
  },
  {
    key: 'itl_p50_ms',
    label: 'ITL p50',
    unit: 'ms',
    better: 'lower',
    get: (r) => finite(r.workload.latency?.itl_ms.p50),
  },
  {
    key: 'tpot_p50_ms',
    label: 'TPOT p50',
    unit: 'ms',
    better: 'lower',
    get: (r) => finite(r.workload.latency?.tpot_ms.p50),
  },
  {
    key: 'mean_power_w',
    label: 'Mean power (measured)',
    unit: 'W',
    better: 'lower',
    get: (r) =>
      r.energy && r.window.duration_s > 0 ? r.energy.total.measured_j / r.window.duration_s : null,
  },
  {
    key: 'window_s',
    label: 'Measurement window',
    unit: 's',
    better: null,
    get: (r) => finite(r.window.duration_s),
  },
];

export function metricDefinition(key: MetricKey): MetricDefinition {
  return KEY_METRICS.find((m) => m.key === key) as MetricDefinition;
}

export function metricValue(result: ExperimentResult, key: MetricKey): number | null {
  return metricDefinition(key).get(result);
}

/** Batch size from the backend's own section (`pytorch.batch_size`), when it has one. */
export function batchSizeOf(result: ExperimentResult): number | null {
  const backend = typeof result.config.backend === 'string' ? result.config.backend : result.backend.name;
  const section = result.config[backend];
  if (section === null || typeof section !== 'object') return null;
  const value = (section as Record<string, unknown>).batch_size;
  return typeof value === 'number' ? value : null;
}

export function precisionOf(result: ExperimentResult): string | null {
  return typeof result.config.precision === 'string' ? result.config.precision : null;
}

/** Energy quality: false when the meter flagged the measurement, null when energy was not measured. */
export function qualityOk(result: ExperimentResult): boolean | null {
  return result.energy ? result.energy.quality.ok : null;
}

/**
 * Result warnings plus the energy-quality warnings not already among them (the orchestrator
 * copies quality warnings into `warnings` with a prefix; older or hand-made results may not).
 */
export function allWarnings(result: ExperimentResult): string[] {
  const out = [...result.warnings];
  for (const warning of result.energy?.quality.warnings ?? []) {
    if (result.warnings.some((w) => w.includes(warning.message))) continue;
    const text = `energy ${warning.severity}: ${warning.code}${warning.device_id ? ` (${warning.device_id})` : ''}: ${warning.message}`;
    if (!out.includes(text)) out.push(text);
  }
  return out;
}
