import { join } from 'node:path';
import { VOLATILE_CONFIG_KEYS } from '../hash/config-hash.js';
import type { ExperimentResult } from './experiment-result.js';
import { allWarnings, batchSizeOf, KEY_METRICS, type MetricKey, precisionOf, qualityOk } from './metrics.js';
import { type SampleStats, sampleStats } from './statistics.js';
import {
  type Cell,
  type ColumnType,
  TABLE_FORMATS,
  type TableColumn,
  type TableFormat,
  writeTable,
} from './table.js';

/**
 * The study tables: `study.csv|parquet` (one row per experiment-cycle) and
 * `aggregate.csv|parquet` (one row per config hash: mean, std, 95 % CI over cycles).
 */

export type Scalar = string | number | boolean | null;

/** Config keys shown in their own columns, so never repeated as swept parameters. */
const MAIN_CONFIG_KEYS = new Set(['model', 'backend', 'precision']);

/** Scalar leaves of a config as dotted paths (`decoder.temperature`); arrays become JSON text. Volatile keys are left out. */
export function flattenConfig(config: Record<string, unknown>): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  const walk = (value: unknown, path: string) => {
    if (
      value === null ||
      typeof value === 'string' ||
      typeof value === 'number' ||
      typeof value === 'boolean'
    )
      out[path] = value;
    else if (Array.isArray(value)) out[path] = JSON.stringify(value);
    else if (typeof value === 'object')
      for (const [key, child] of Object.entries(value)) walk(child, path ? `${path}.${key}` : key);
  };
  for (const [key, value] of Object.entries(config)) {
    if (!(VOLATILE_CONFIG_KEYS as readonly string[]).includes(key)) walk(value, key);
  }
  return out;
}

function batchSizeKey(result: ExperimentResult): string {
  const backend = typeof result.config.backend === 'string' ? result.config.backend : result.backend.name;
  return `${backend}.batch_size`;
}

/**
 * Dotted config paths whose value differs between the results (a key missing in some counts as
 * differing), in first-seen order. Model, backend, precision and batch size have their own columns.
 */
export function varyingParameters(results: readonly ExperimentResult[]): string[] {
  const flat = results.map((r) => flattenConfig(r.config));
  const keys: string[] = [];
  for (const f of flat) for (const key of Object.keys(f)) if (!keys.includes(key)) keys.push(key);
  const shown = new Set([...MAIN_CONFIG_KEYS, ...results.map(batchSizeKey)]);
  return keys.filter((key) => {
    if (shown.has(key)) return false;
    const values = new Set(flat.map((f) => (key in f ? JSON.stringify(f[key]) : '<missing>')));
    return values.size > 1;
  });
}

function inferType(values: readonly Cell[]): ColumnType {
  const present = values.filter((v) => v !== null);
  if (present.length > 0 && present.every((v) => typeof v === 'number')) return 'double';
  if (present.length > 0 && present.every((v) => typeof v === 'boolean')) return 'boolean';
  return 'string';
}

function column(name: string, type: ColumnType, values: Cell[]): TableColumn {
  return { name, type, values };
}

function paramColumns(results: readonly ExperimentResult[], params: readonly string[]): TableColumn[] {
  const flat = results.map((r) => flattenConfig(r.config));
  return params.map((param) => {
    const values = flat.map((f) => f[param] ?? null);
    const type = inferType(values);
    return column(
      param,
      type,
      type === 'string' ? values.map((v) => (v === null ? null : String(v))) : values,
    );
  });
}

function estimatedJ(result: ExperimentResult): number | null {
  return result.energy ? result.energy.total.estimated_j : null;
}

/** Columns of study.csv: one row per experiment-cycle, in the order given. */
export function studyTableColumns(results: readonly ExperimentResult[]): TableColumn[] {
  const params = varyingParameters(results);
  const metric = (key: MetricKey) =>
    column(
      key,
      'double',
      results.map((r) => (KEY_METRICS.find((m) => m.key === key) as (typeof KEY_METRICS)[number]).get(r)),
    );
  return [
    column(
      'experiment_id',
      'string',
      results.map((r) => r.experiment_id),
    ),
    column(
      'config_hash',
      'string',
      results.map((r) => r.config_hash),
    ),
    column(
      'study_id',
      'string',
      results.map((r) => r.study_id),
    ),
    column(
      'cycle',
      'int32',
      results.map((r) => r.cycle),
    ),
    column(
      'attempt',
      'int32',
      results.map((r) => r.attempt),
    ),
    column(
      'model',
      'string',
      results.map((r) => r.model),
    ),
    column(
      'backend',
      'string',
      results.map((r) => r.backend.name),
    ),
    column('precision', 'string', results.map(precisionOf)),
    column('batch_size', 'int32', results.map(batchSizeOf)),
    ...paramColumns(results, params),
    metric('energy_measured_j'),
    metric('energy_adjusted_j'),
    column('energy_estimated_j', 'double', results.map(estimatedJ)),
    column(
      'energy_basis',
      'string',
      results.map((r) => r.efficiency.basis),
    ),
    metric('energy_per_output_token_j'),
    column(
      'output_tokens',
      'int64',
      results.map((r) => r.workload.output_tokens),
    ),
    metric('output_tokens_per_s'),
    metric('ttft_p50_ms'),
    metric('itl_p50_ms'),
    metric('tpot_p50_ms'),
    metric('mean_power_w'),
    metric('window_s'),
    column('quality_ok', 'boolean', results.map(qualityOk)),
    column(
      'warnings_count',
      'int32',
      results.map((r) => allWarnings(r).length),
    ),
    column(
      'started_utc',
      'string',
      results.map((r) => r.timings.started_utc),
    ),
    ...servingColumns(results),
  ];
}

/**
 * Serving runs' columns (result.serving), appended only when a result has a serving block: the load
 * (mode, concurrency or request rate, the sweep axes of a serving study), the error rate, the
 * steady window and per-request energy.
 */
export function servingColumns(results: readonly ExperimentResult[]): TableColumn[] {
  if (!results.some((r) => r.serving)) return [];
  const of = <T extends Cell>(get: (s: NonNullable<ExperimentResult['serving']>) => T) =>
    results.map((r) => (r.serving ? get(r.serving) : null));
  const perRequest = (q: 'p50' | 'p90' | 'p99') => of((s) => s.per_request_energy?.j_per_request[q] ?? null);
  return [
    column(
      'serving_mode',
      'string',
      of((s) => s.mode),
    ),
    column(
      'serving_concurrency',
      'int32',
      of((s) => s.concurrency),
    ),
    column(
      'serving_request_rate',
      'double',
      of((s) => s.request_rate),
    ),
    column(
      'serving_error_rate',
      'double',
      of((s) => s.requests.error_rate),
    ),
    column(
      'serving_requests_per_s',
      'double',
      of((s) => s.requests.requests_per_s),
    ),
    column(
      'serving_ttft_p99_ms',
      'double',
      of((s) => s.requests.ttft_ms.p99),
    ),
    column(
      'serving_steady_s',
      'double',
      of((s) => s.windows.steady?.duration_s ?? null),
    ),
    column(
      'serving_steady_short',
      'boolean',
      of((s) => s.windows.steady?.short ?? null),
    ),
    column('serving_j_per_request_p50', 'double', perRequest('p50')),
    column('serving_j_per_request_p90', 'double', perRequest('p90')),
    column('serving_j_per_request_p99', 'double', perRequest('p99')),
  ];
}

/** Metrics aggregated over cycles in aggregate.csv. */
export const AGGREGATED_METRICS: readonly MetricKey[] = [
  'energy_per_output_token_j',
  'energy_measured_j',
  'energy_adjusted_j',
  'output_tokens_per_s',
  'ttft_p50_ms',
  'itl_p50_ms',
  'tpot_p50_ms',
  'mean_power_w',
  'window_s',
];

/** One config (config hash) summarised over its cycles. */
export interface ConfigAggregate {
  config_hash: string;
  /** Short human label: model, precision, batch size and the swept parameters. */
  label: string;
  model: string;
  backend: string;
  precision: string | null;
  batch_size: number | null;
  /** Values of the study's varying parameters for this config. */
  params: Record<string, Scalar>;
  /** Number of results (cycles) for this config. */
  n: number;
  stats: Record<MetricKey, SampleStats>;
  /** True when every cycle's energy quality was ok; null when none measured energy. */
  quality_ok: boolean | null;
  warnings_count: number;
  experiment_ids: string[];
}

function shortValue(value: Scalar): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Groups results by config hash (first-seen order) and summarises each group. */
export function aggregateByConfig(results: readonly ExperimentResult[]): ConfigAggregate[] {
  const params = varyingParameters(results);
  const groups = new Map<string, ExperimentResult[]>();
  for (const result of results) {
    const group = groups.get(result.config_hash);
    if (group) group.push(result);
    else groups.set(result.config_hash, [result]);
  }
  const models = new Set(results.map((r) => r.model));
  return [...groups.entries()].map(([hash, group]) => {
    const first = group[0] as ExperimentResult;
    const flat = flattenConfig(first.config);
    const paramValues = Object.fromEntries(params.map((p) => [p, flat[p] ?? null]));
    const qualities = group.map(qualityOk).filter((q): q is boolean => q !== null);
    const batch = batchSizeOf(first);
    const labelParts = [
      ...(models.size > 1 ? [first.model] : []),
      ...(new Set(results.map((r) => r.backend.name)).size > 1 ? [first.backend.name] : []),
      ...(new Set(results.map(precisionOf)).size > 1 ? [precisionOf(first) ?? '?'] : []),
      ...(new Set(results.map(batchSizeOf)).size > 1 && batch !== null ? [`bs=${batch}`] : []),
      ...params.map((p) => `${p.split('.').pop()}=${shortValue(paramValues[p] ?? null)}`),
    ];
    const stats = Object.fromEntries(
      KEY_METRICS.map((m) => [m.key, sampleStats(group.map((r) => m.get(r)))]),
    ) as Record<MetricKey, SampleStats>;
    return {
      config_hash: hash,
      label: labelParts.length > 0 ? labelParts.join(' · ') : first.model,
      model: first.model,
      backend: first.backend.name,
      precision: precisionOf(first),
      batch_size: batch,
      params: paramValues,
      n: group.length,
      stats,
      quality_ok: qualities.length === 0 ? null : qualities.every(Boolean),
      warnings_count: group.reduce((s, r) => s + allWarnings(r).length, 0),
      experiment_ids: group.map((r) => r.experiment_id),
    };
  });
}

/** Columns of aggregate.csv: one row per config hash, `<metric>_mean|_std|_ci95` for each aggregated metric. */
export function aggregateTableColumns(results: readonly ExperimentResult[]): TableColumn[] {
  const aggregates = aggregateByConfig(results);
  const params = varyingParameters(results);
  const paramCols = params.map((param) => {
    const values = aggregates.map((a) => a.params[param] ?? null);
    const type = inferType(values);
    return column(
      param,
      type,
      type === 'string' ? values.map((v) => (v === null ? null : String(v))) : values,
    );
  });
  const statCols = AGGREGATED_METRICS.flatMap((key) => [
    column(
      `${key}_mean`,
      'double',
      aggregates.map((a) => a.stats[key].mean),
    ),
    column(
      `${key}_std`,
      'double',
      aggregates.map((a) => a.stats[key].std),
    ),
    column(
      `${key}_ci95`,
      'double',
      aggregates.map((a) => a.stats[key].ci95),
    ),
  ]);
  return [
    column(
      'config_hash',
      'string',
      aggregates.map((a) => a.config_hash),
    ),
    column(
      'label',
      'string',
      aggregates.map((a) => a.label),
    ),
    column(
      'model',
      'string',
      aggregates.map((a) => a.model),
    ),
    column(
      'backend',
      'string',
      aggregates.map((a) => a.backend),
    ),
    column(
      'precision',
      'string',
      aggregates.map((a) => a.precision),
    ),
    column(
      'batch_size',
      'int32',
      aggregates.map((a) => a.batch_size),
    ),
    ...paramCols,
    column(
      'n',
      'int32',
      aggregates.map((a) => a.n),
    ),
    ...statCols,
    column(
      'quality_ok',
      'boolean',
      aggregates.map((a) => a.quality_ok),
    ),
    column(
      'warnings_count',
      'int32',
      aggregates.map((a) => a.warnings_count),
    ),
  ];
}

export const STUDY_TABLE_SCHEMA = 'llem.study-table/1';

/**
 * Writes `study.csv`, `study.parquet`, `aggregate.csv` and `aggregate.parquet` into `studyDir`
 * (each atomically) and returns their file names relative to `studyDir`.
 */
export async function writeStudyTable(
  studyDir: string,
  results: readonly ExperimentResult[],
  formats: readonly TableFormat[] = TABLE_FORMATS,
): Promise<Record<string, string>> {
  await writeTable(join(studyDir, 'study'), studyTableColumns(results), formats, {
    'llem.schema': STUDY_TABLE_SCHEMA,
  });
  await writeTable(join(studyDir, 'aggregate'), aggregateTableColumns(results), formats, {
    'llem.schema': STUDY_TABLE_SCHEMA,
  });
  const files: Record<string, string> = {};
  for (const format of formats) {
    files[`study_${format}`] = `study.${format}`;
    files[`aggregate_${format}`] = `aggregate.${format}`;
  }
  return files;
}
