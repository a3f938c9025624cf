import { type EnergyBasis, headlineEnergy } from '../energy/measurement.js';
import type { ExperimentResult } from './experiment-result.js';
import { batchSizeOf, metricValue, precisionOf, qualityOk } from './metrics.js';
import { type SampleStats, sampleStats } from './statistics.js';
import { flattenConfig, type Scalar } from './study-table.js';

/** One line of `llem results show` / study summaries: raw values, formatted by formatSummaryRow. */
export interface SummaryRow {
  experiment_id: string;
  model: string;
  backend: string;
  precision: string | null;
  batch_size: number | null;
  cycle: number | null;
  energy_per_output_token_j: number | null;
  output_tokens_per_s: number | null;
  ttft_p50_ms: number | null;
  /** The headline energy: baseline-adjusted when available, else raw measured, else the estimate. */
  energy_j: number | null;
  energy_basis: EnergyBasis | null;
  /** 'ok', 'warn' (quality flagged or warnings present), 'n/a' (no energy measured). */
  quality: 'ok' | 'warn' | 'n/a';
  /** The headline energy's uncertainty (J) and the same per output token, when the result has one. */
  energy_uncertainty?: { energy_j: number | null; per_output_token_j: number | null };
  /** The energy came from a simulated GPU (energy.samplers: [simulated]). */
  energy_simulated?: boolean;
}

/** The SummaryRow keys formatSummaryRow turns into display strings. */
type DisplayKey = Exclude<keyof SummaryRow, 'energy_uncertainty' | 'energy_simulated'>;

export function summaryRow(result: ExperimentResult): SummaryRow {
  const headline = headlineEnergy(result.energy);
  const ok = qualityOk(result);
  return {
    experiment_id: result.experiment_id,
    model: result.model,
    backend: result.backend.name,
    precision: precisionOf(result),
    batch_size: batchSizeOf(result),
    cycle: result.cycle,
    energy_per_output_token_j: metricValue(result, 'energy_per_output_token_j'),
    output_tokens_per_s: metricValue(result, 'output_tokens_per_s'),
    ttft_p50_ms: metricValue(result, 'ttft_p50_ms'),
    energy_j: headline?.joules ?? null,
    energy_basis: headline?.basis ?? null,
    quality: ok === null ? 'n/a' : ok && result.warnings.length === 0 ? 'ok' : 'warn',
    ...(result.energy?.total.uncertainty && headline?.basis !== 'estimate'
      ? {
          energy_uncertainty: {
            energy_j: result.energy.total.uncertainty.total_j,
            per_output_token_j: result.efficiency.energy_per_output_token_uncertainty_j ?? null,
          },
        }
      : {}),
    ...(result.energy?.devices.some((d) => d.source === 'simulated') ? { energy_simulated: true } : {}),
  };
}

/** Column headers for a summary table, in display order. */
export const SUMMARY_COLUMNS: readonly { key: keyof SummaryRow; header: string; align: 'left' | 'right' }[] =
  [
    { key: 'model', header: 'Model', align: 'left' },
    { key: 'backend', header: 'Backend', align: 'left' },
    { key: 'precision', header: 'Precision', align: 'left' },
    { key: 'batch_size', header: 'Batch', align: 'right' },
    { key: 'energy_per_output_token_j', header: 'J/token', align: 'right' },
    { key: 'output_tokens_per_s', header: 'tok/s', align: 'right' },
    { key: 'ttft_p50_ms', header: 'TTFT p50 ms', align: 'right' },
    { key: 'energy_j', header: 'Energy J', align: 'right' },
    { key: 'quality', header: 'Quality', align: 'left' },
  ];

/**
 * Three significant figures, trailing zeros stripped; large values keep their integer digits
 * (312.4 → "312", 1234 → "1234", 0.003124 → "0.00312"). Null → "-".
 */
export function formatSig3(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  if (magnitude >= 2) return String(Math.round(value));
  const decimals = Math.min(20, 2 - magnitude);
  return Number(value.toFixed(decimals)).toString();
}

/** Percent delta with sign: "+12.3 %", "-0.5 %", "-" for null. */
export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  const text = formatSig3(Math.abs(value));
  return `${value > 0 ? '+' : value < 0 ? '-' : ''}${text} %`;
}

/** A summary row as display strings keyed like SUMMARY_COLUMNS. */
export function formatSummaryRow(row: SummaryRow): Record<DisplayKey, string> {
  const text = (value: string | number | null) => (value === null ? '-' : String(value));
  // An estimate is never shown as if it were measured; a simulated figure says so; ± its uncertainty.
  const joules = (value: number | null, uncertainty?: number | null) => {
    if (row.energy_basis === 'estimate' && value !== null) return `~${formatSig3(value)} (est.)`;
    if (value === null) return formatSig3(value);
    const plusMinus = uncertainty != null ? ` ±${formatSig3(uncertainty)}` : '';
    return `${formatSig3(value)}${plusMinus}${row.energy_simulated ? ' (sim.)' : ''}`;
  };
  return {
    experiment_id: row.experiment_id,
    model: row.model,
    backend: row.backend,
    precision: text(row.precision),
    batch_size: text(row.batch_size),
    cycle: text(row.cycle),
    energy_per_output_token_j: joules(
      row.energy_per_output_token_j,
      row.energy_uncertainty?.per_output_token_j,
    ),
    output_tokens_per_s: formatSig3(row.output_tokens_per_s),
    ttft_p50_ms: formatSig3(row.ttft_p50_ms),
    energy_j: joules(row.energy_j, row.energy_uncertainty?.energy_j),
    energy_basis: text(row.energy_basis),
    quality: row.quality,
  };
}

/**
 * Config fields a results table shows as columns: every key in `swept` (a study's sweep keys),
 * then every field whose value differs between the results (model, backend, precision and the
 * backend's batch size included), in first-seen order. Fields the same in every row are left to
 * `sharedFields`.
 */
export function tableParameters(
  results: readonly ExperimentResult[],
  swept: readonly string[] = [],
): string[] {
  const flat = results.map((r) => flattenConfig(r.config));
  const keys: string[] = [...swept];
  for (const f of flat) for (const key of Object.keys(f)) if (!keys.includes(key)) keys.push(key);
  return keys.filter((key) => {
    if (swept.includes(key)) return true;
    return new Set(flat.map((f) => (key in f ? JSON.stringify(f[key]) : '<missing>'))).size > 1;
  });
}

/** The identity fields (model, backend, precision, batch size) that are the same in every row and not columns. */
export function sharedFields(
  results: readonly ExperimentResult[],
  columns: readonly string[],
): { key: string; value: Scalar }[] {
  if (results.length === 0) return [];
  const first = flattenConfig((results[0] as ExperimentResult).config);
  const backend = typeof first.backend === 'string' ? first.backend : null;
  const keys = ['model', 'backend', 'precision', ...(backend ? [`${backend}.batch_size`] : [])];
  return keys.flatMap((key) =>
    columns.includes(key) || !(key in first) ? [] : [{ key, value: first[key] ?? null }],
  );
}

/** One row of a results table: one config over its cycles, or one experiment-cycle. */
export interface ResultsTableRow {
  study_id: string | null;
  config_hash: string;
  /** The value of each parameter column (tableParameters), by dotted key. */
  params: Record<string, Scalar>;
  /** Cycle of a per-cycle row; null in a per-config row. */
  cycle: number | null;
  /** Results behind the row (cycles). */
  n: number;
  energy_per_output_token_j: SampleStats;
  output_tokens_per_s: SampleStats;
  ttft_p50_ms: SampleStats;
  /** The headline energy (see headlineEnergy) over the row's results. */
  energy_j: SampleStats;
  /** 'estimate' when any result's headline energy is an estimate, else the first basis seen. */
  energy_basis: EnergyBasis | null;
  quality: 'ok' | 'warn' | 'n/a';
  experiment_ids: string[];
  /** A per-cycle row's measurement uncertainty (energy.total.uncertainty), J and J/token. */
  energy_uncertainty?: { energy_j: number | null; per_output_token_j: number | null };
  /** Some of the row's energy came from a simulated GPU. */
  energy_simulated?: boolean;
}

/**
 * The rows of a results table: by default one per config (study id and config hash, first-seen
 * order) with mean and 95 % CI over its cycles; with `perCycle` one per result.
 */
export function resultsTableRows(
  results: readonly ExperimentResult[],
  options: { perCycle?: boolean; parameters?: readonly string[] } = {},
): ResultsTableRow[] {
  const parameters = options.parameters ?? tableParameters(results);
  const byConfig = new Map<string, ExperimentResult[]>();
  for (const result of results) {
    const key = `${result.study_id ?? ''}\u0000${result.config_hash}`;
    const group = byConfig.get(key);
    if (group) group.push(result);
    else byConfig.set(key, [result]);
  }
  // Per cycle: each config's results together, in cycle order.
  const groups = options.perCycle
    ? [...byConfig.values()].flatMap((group) =>
        [...group].sort((a, b) => (a.cycle ?? 0) - (b.cycle ?? 0)).map((r) => [r]),
      )
    : [...byConfig.values()];
  return groups.map((group) => {
    const first = group[0] as ExperimentResult;
    const flat = flattenConfig(first.config);
    const headlines = group.map((r) => headlineEnergy(r.energy));
    const bases = headlines.flatMap((h) => (h ? [h.basis] : []));
    const qualities = group.map((r) => summaryRow(r).quality);
    return {
      study_id: first.study_id,
      config_hash: first.config_hash,
      params: Object.fromEntries(parameters.map((p) => [p, flat[p] ?? null])),
      cycle: options.perCycle ? first.cycle : null,
      n: group.length,
      energy_per_output_token_j: sampleStats(group.map((r) => metricValue(r, 'energy_per_output_token_j'))),
      output_tokens_per_s: sampleStats(group.map((r) => metricValue(r, 'output_tokens_per_s'))),
      ttft_p50_ms: sampleStats(group.map((r) => metricValue(r, 'ttft_p50_ms'))),
      energy_j: sampleStats(headlines.map((h) => h?.joules ?? null)),
      energy_basis: bases.includes('estimate') ? 'estimate' : (bases[0] ?? null),
      quality: qualities.includes('warn') ? 'warn' : qualities.includes('ok') ? 'ok' : 'n/a',
      experiment_ids: group.map((r) => r.experiment_id),
      ...(group.length === 1 && summaryRow(first).energy_uncertainty
        ? { energy_uncertainty: summaryRow(first).energy_uncertainty }
        : {}),
      ...(group.some((r) => summaryRow(r).energy_simulated) ? { energy_simulated: true } : {}),
    };
  });
}

/** "312 ± 4.1": a mean with its 95 % CI half-width (the CI only with 2 values or more). */
export function formatMeanCi(stats: SampleStats, estimate = false): string {
  if (stats.mean === null) return '-';
  const ci = stats.ci95 === null ? '' : ` ± ${formatSig3(stats.ci95)}`;
  return estimate ? `~${formatSig3(stats.mean)}${ci} (est.)` : `${formatSig3(stats.mean)}${ci}`;
}

/** A results table ready to print: headers, alignments and display strings. */
export interface FormattedResultsTable {
  columns: { header: string; align: 'left' | 'right' }[];
  rows: string[][];
  /** Identity fields the same in every row (not columns): "model builtin:tiny-gpt2". */
  shared: { key: string; value: Scalar }[];
}

/**
 * The results table `llem run` and `llem results show` print: every swept key and every differing
 * config field as a column, then one row per config with mean ± 95 % CI over its cycles (or one
 * row per experiment-cycle with `perCycle`). Estimated energy is marked `~… (est.)`.
 */
export function formatResultsTable(
  results: readonly ExperimentResult[],
  options: { perCycle?: boolean; swept?: readonly string[] } = {},
): FormattedResultsTable {
  const parameters = tableParameters(results, options.swept);
  const rows = resultsTableRows(results, { perCycle: options.perCycle, parameters });
  const studies = new Set(results.map((r) => r.study_id)).size > 1;
  const scalar = (value: Scalar) =>
    value === null ? '-' : typeof value === 'string' ? value : JSON.stringify(value);
  const right = (header: string) => ({ header, align: 'right' as const });
  const columns = [
    ...(studies ? [{ header: 'Study', align: 'left' as const }] : []),
    ...parameters.map((p) => ({ header: p, align: 'left' as const })),
    options.perCycle ? right('Cycle') : right('n'),
    right('J/token'),
    right('tok/s'),
    right('TTFT p50 ms'),
    right('Energy J'),
    { header: 'Quality', align: 'left' as const },
  ];
  return {
    columns,
    rows: rows.map((row) => {
      const estimate = row.energy_basis === 'estimate';
      // A single result's energy: ±its measurement uncertainty (no CI); simulated energy says so.
      const energyCell = (stats: SampleStats, uncertainty: number | null | undefined) => {
        const text = formatMeanCi(stats, estimate);
        const u =
          stats.ci95 === null && uncertainty != null && !estimate ? ` ±${formatSig3(uncertainty)}` : '';
        return `${text}${text === '-' ? '' : u}${row.energy_simulated && text !== '-' ? ' (sim.)' : ''}`;
      };
      return [
        ...(studies ? [row.study_id ?? '-'] : []),
        ...parameters.map((p) => scalar(row.params[p] ?? null)),
        options.perCycle ? scalar(row.cycle) : String(row.n),
        energyCell(row.energy_per_output_token_j, row.energy_uncertainty?.per_output_token_j),
        formatMeanCi(row.output_tokens_per_s),
        formatMeanCi(row.ttft_p50_ms),
        energyCell(row.energy_j, row.energy_uncertainty?.energy_j),
        row.quality,
      ];
    }),
    shared: sharedFields(results, parameters),
  };
}
