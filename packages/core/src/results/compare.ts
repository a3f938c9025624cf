import type { ExperimentResult } from './experiment-result.js';
import { KEY_METRICS, type MetricKey } from './metrics.js';
import { sampleStats } from './statistics.js';

/** One key metric of two results (or two groups of cycles) side by side. */
export interface ComparisonRow {
  metric: MetricKey;
  label: string;
  unit: string;
  better: 'lower' | 'higher' | null;
  /** Value of A (the mean over its results when A is a list). */
  a: number | null;
  b: number | null;
  /** b − a. */
  delta: number | null;
  /** (b − a) / |a| × 100; null when a is 0 or missing. */
  delta_pct: number | null;
  /** Whether B improves on A for this metric; 'same' within 0.05 %; null when it cannot be said. */
  verdict: 'better' | 'worse' | 'same' | null;
  /** Number of values behind a and b (cycles). */
  n_a: number;
  n_b: number;
}

const SAME_WITHIN_PCT = 0.05;

function side(input: ExperimentResult | readonly ExperimentResult[]): readonly ExperimentResult[] {
  return Array.isArray(input) ? input : [input as ExperimentResult];
}

/**
 * Key metrics of B against A, with deltas in %. Either side may be one result or the cycles of
 * one config (then its mean is used).
 */
export function compareResults(
  a: ExperimentResult | readonly ExperimentResult[],
  b: ExperimentResult | readonly ExperimentResult[],
): ComparisonRow[] {
  const as = side(a);
  const bs = side(b);
  return KEY_METRICS.map((metric) => {
    const sa = sampleStats(as.map((r) => metric.get(r)));
    const sb = sampleStats(bs.map((r) => metric.get(r)));
    const delta = sa.mean !== null && sb.mean !== null ? sb.mean - sa.mean : null;
    const deltaPct =
      delta !== null && sa.mean !== null && sa.mean !== 0 ? (delta / Math.abs(sa.mean)) * 100 : null;
    let verdict: ComparisonRow['verdict'] = null;
    if (deltaPct !== null && metric.better !== null) {
      if (Math.abs(deltaPct) < SAME_WITHIN_PCT) verdict = 'same';
      else verdict = deltaPct < 0 === (metric.better === 'lower') ? 'better' : 'worse';
    }
    return {
      metric: metric.key,
      label: metric.label,
      unit: metric.unit,
      better: metric.better,
      a: sa.mean,
      b: sb.mean,
      delta,
      delta_pct: deltaPct,
      verdict,
      n_a: sa.n,
      n_b: sb.n,
    };
  });
}
