import { type EnergyBasis, headlineEnergy } from '../energy/measurement.js';
import type { ExperimentResult } from './experiment-result.js';
import { batchSizeOf, metricValue, precisionOf, qualityOk } from './metrics.js';

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
}

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
export function formatSummaryRow(row: SummaryRow): Record<keyof SummaryRow, string> {
  const text = (value: string | number | null) => (value === null ? '-' : String(value));
  // An estimate is never shown as if it were measured.
  const joules = (value: number | null) =>
    row.energy_basis === 'estimate' && value !== null ? `~${formatSig3(value)} (est.)` : formatSig3(value);
  return {
    experiment_id: row.experiment_id,
    model: row.model,
    backend: row.backend,
    precision: text(row.precision),
    batch_size: text(row.batch_size),
    cycle: text(row.cycle),
    energy_per_output_token_j: joules(row.energy_per_output_token_j),
    output_tokens_per_s: formatSig3(row.output_tokens_per_s),
    ttft_p50_ms: formatSig3(row.ttft_p50_ms),
    energy_j: joules(row.energy_j),
    energy_basis: text(row.energy_basis),
    quality: row.quality,
  };
}
