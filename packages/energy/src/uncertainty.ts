/**
 * The uncertainty of an energy figure, term by term (docs/results.md, "Uncertainty"). Each term
 * is a standard uncertainty in joules; independent terms (and independent boards) combine in
 * quadrature.
 */
import type { EnergyUncertainty } from '@llem/core';
import type { Point } from './integrate.js';

/** NVML's documented accuracy: about ±5 % of each board's reading. */
export const DEFAULT_SENSOR_ERROR_PCT = 5;

function round(x: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * The counter's update period measured from the readings: the time between its first and last
 * change over the number of changes between them (a counter read faster than it updates shows
 * its own period; one read slower shows the reading period, the granularity the reader sees).
 * Null with fewer than two changes.
 */
export function measuredUpdatePeriodS(points: readonly Point[]): number | null {
  let first: number | null = null;
  let last: number | null = null;
  let changes = 0;
  for (let i = 1; i < points.length; i++) {
    const p = points[i] as Point;
    if (p.v === (points[i - 1] as Point).v) continue;
    first ??= p.t;
    last = p.t;
    changes++;
  }
  if (first === null || last === null || changes < 2) return null;
  return (last - first) / (changes - 1);
}

export interface UncertaintyInputs {
  /** The figure the uncertainty qualifies (adjusted when a baseline was subtracted, else raw), J. */
  energyJ: number;
  /** Counter update period (or power reading period), s; null when unknown. */
  updatePeriodS: number | null;
  /** Peak power over the window, W; null when no power was read. */
  peakPowerW: number | null;
  /** Assumed systematic error of the sensor, percent. */
  sensorErrorPct: number;
  /** Standard deviation of the idle power, W; null when no baseline was subtracted. */
  baselineSpreadW: number | null;
  windowS: number;
}

/** One figure's uncertainty: granularity, systematic and baseline terms, and their combination. */
export function energyUncertainty(inputs: UncertaintyInputs): EnergyUncertainty {
  const { energyJ, updatePeriodS, peakPowerW, sensorErrorPct, baselineSpreadW, windowS } = inputs;
  const granularity = updatePeriodS !== null && peakPowerW !== null ? updatePeriodS * peakPowerW : null;
  const systematic = (sensorErrorPct / 100) * energyJ;
  const baseline = baselineSpreadW !== null ? baselineSpreadW * windowS : null;
  return combine({ granularity, systematic, baseline, energyJ, updatePeriodS, sensorErrorPct });
}

function combine(terms: {
  granularity: number | null;
  systematic: number;
  baseline: number | null;
  energyJ: number;
  updatePeriodS?: number | null;
  sensorErrorPct?: number;
}): EnergyUncertainty {
  const total = Math.sqrt((terms.granularity ?? 0) ** 2 + terms.systematic ** 2 + (terms.baseline ?? 0) ** 2);
  return {
    granularity_j: terms.granularity === null ? null : round(terms.granularity),
    systematic_j: round(terms.systematic),
    baseline_j: terms.baseline === null ? null : round(terms.baseline),
    total_j: round(total),
    relative_pct: terms.energyJ > 0 ? round((total / terms.energyJ) * 100, 3) : null,
    ...(terms.updatePeriodS !== undefined
      ? { update_period_s: terms.updatePeriodS === null ? null : round(terms.updatePeriodS, 9) }
      : {}),
    ...(terms.sensorErrorPct !== undefined ? { sensor_error_pct: terms.sensorErrorPct } : {}),
  };
}

const rss = (xs: readonly number[]) => Math.sqrt(xs.reduce((a, x) => a + x * x, 0));

/**
 * The uncertainty of a sum over boards whose errors are independent (each board its own sensor
 * and gain): each term in quadrature across boards. `energyJ` is the total it qualifies.
 */
export function sumUncertainty(parts: readonly EnergyUncertainty[], energyJ: number): EnergyUncertainty {
  const grans = parts.map((p) => p.granularity_j);
  const bases = parts.map((p) => p.baseline_j);
  return combine({
    granularity: grans.every((g) => g === null) ? null : rss(grans.map((g) => g ?? 0)),
    systematic: rss(parts.map((p) => p.systematic_j)),
    baseline: bases.every((b) => b === null) ? null : rss(bases.map((b) => b ?? 0)),
    energyJ,
  });
}

/** Population standard deviation of numbers (0 for fewer than two). */
export function spread(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
}

/**
 * A standard deviation that a few outliers do not move: 1.4826 x the median absolute deviation
 * (equal to the standard deviation for normally distributed values). 0 for fewer than two.
 */
export function robustSpread(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const median = (xs: readonly number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  };
  const m = median(values);
  return 1.4826 * median(values.map((v) => Math.abs(v - m)));
}
