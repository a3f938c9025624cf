import type { ExperimentResult } from './experiment-result.js';
import { KEY_METRICS, type MetricKey } from './metrics.js';
import { type SampleStats, sampleStats, welchTTest } from './statistics.js';
import { flattenConfig, type Scalar } from './study-table.js';

/**
 * How B stands against A for one metric:
 * - `better` / `worse`: the difference is beyond noise (Welch's t-test, p < 0.05, cycles on both sides);
 * - `within-noise`: cycles on both sides, and the difference is not beyond their spread;
 * - `same`: the means agree within 0.05 %;
 * - `inconclusive`: a side has one value only (n = 1), so its noise is unknown;
 * - null: the metric has no better direction, or a value is missing.
 */
export type ComparisonVerdict = 'better' | 'worse' | 'within-noise' | 'same' | 'inconclusive';

/** One key metric of two results (or two groups of cycles) side by side. */
export interface ComparisonRow {
  metric: MetricKey;
  label: string;
  unit: string;
  better: 'lower' | 'higher' | null;
  /** Value of A (the mean over its results when A is a list). */
  a: number | null;
  b: number | null;
  /** 95 % CI half-width of A's and B's mean (null with fewer than 2 values). */
  a_ci95: number | null;
  b_ci95: number | null;
  /** b − a. */
  delta: number | null;
  /** (b − a) / |a| × 100; null when a is 0 or missing. */
  delta_pct: number | null;
  verdict: ComparisonVerdict | null;
  /** Two-sided p-value of Welch's t-test; null when a side has fewer than 2 values. */
  p_value: number | null;
  /** True when a side's value is an estimate (energy from a model such as CPU TDP, not measured). */
  estimate: boolean;
  /** Number of values behind a and b (cycles). */
  n_a: number;
  n_b: number;
}

/** A config field whose value differs between A and B (dotted path; each side's values). */
export interface ConfigDifference {
  key: string;
  a: Scalar[];
  b: Scalar[];
}

const SAME_WITHIN_PCT = 0.05;
const SIGNIFICANCE = 0.05;

function side(input: ExperimentResult | readonly ExperimentResult[]): readonly ExperimentResult[] {
  return Array.isArray(input) ? input : [input as ExperimentResult];
}

/** Metrics whose value comes from the energy figure, which may be an estimate. */
const ENERGY_BASED: ReadonlySet<MetricKey> = new Set(['energy_per_output_token_j']);

function isEstimate(metric: MetricKey, results: readonly ExperimentResult[]): boolean {
  return ENERGY_BASED.has(metric) && results.some((r) => r.efficiency.basis === 'estimate');
}

function verdictOf(
  sa: SampleStats,
  sb: SampleStats,
  deltaPct: number | null,
  better: 'lower' | 'higher' | null,
): { verdict: ComparisonVerdict | null; p: number | null } {
  const test = welchTTest(sa, sb);
  const p = test?.p ?? null;
  if (deltaPct === null || better === null) return { verdict: null, p };
  if (Math.abs(deltaPct) < SAME_WITHIN_PCT) return { verdict: 'same', p };
  if (test === null) return { verdict: 'inconclusive', p };
  if (test.p >= SIGNIFICANCE) return { verdict: 'within-noise', p };
  return { verdict: deltaPct < 0 === (better === 'lower') ? 'better' : 'worse', p };
}

/**
 * Key metrics of B against A, with deltas in %. Either side may be one result or the cycles of
 * one config (then its mean is used). A verdict is only given when both sides have cycles enough
 * to know their noise.
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
    const { verdict, p } = verdictOf(sa, sb, deltaPct, metric.better);
    return {
      metric: metric.key,
      label: metric.label,
      unit: metric.unit,
      better: metric.better,
      a: sa.mean,
      b: sb.mean,
      a_ci95: sa.ci95,
      b_ci95: sb.ci95,
      delta,
      delta_pct: deltaPct,
      verdict,
      p_value: p,
      estimate: isEstimate(metric.key, as) || isEstimate(metric.key, bs),
      n_a: sa.n,
      n_b: sb.n,
    };
  });
}

/**
 * The config fields (dotted paths, volatile keys left out) whose values differ between the two
 * sides, in first-seen order; a field missing on one side differs too (its value is null there).
 */
export function configDifferences(
  a: readonly ExperimentResult[],
  b: readonly ExperimentResult[],
): ConfigDifference[] {
  const fa = a.map((r) => flattenConfig(r.config));
  const fb = b.map((r) => flattenConfig(r.config));
  const keys: string[] = [];
  for (const f of [...fa, ...fb]) for (const key of Object.keys(f)) if (!keys.includes(key)) keys.push(key);
  const values = (flat: readonly Record<string, Scalar>[], key: string): Scalar[] => {
    const seen = new Map<string, Scalar>();
    for (const f of flat) {
      const value = f[key] ?? null;
      seen.set(JSON.stringify(value), value);
    }
    return [...seen.values()];
  };
  const text = (xs: Scalar[]) =>
    xs
      .map((x) => JSON.stringify(x))
      .sort()
      .join('\n');
  return keys.flatMap((key) => {
    const va = values(fa, key);
    const vb = values(fb, key);
    return text(va) === text(vb) ? [] : [{ key, a: va, b: vb }];
  });
}
