/**
 * Pure integration over a measurement window. Times are seconds relative to the window start
 * (numbers, not bigint ns, once aligned); every function treats its input as piecewise linear
 * between samples, which makes edge interpolation and the trapezoid rule the same operation.
 */
import type { EnergyReading } from '@llem/core';

export interface Point {
  t: number;
  v: number;
}

/** Window-relative seconds of a reading. */
export function relativeSeconds(tMonoNs: bigint, startNs: bigint): number {
  return Number(tMonoNs - startNs) / 1e9;
}

/** Linear interpolation at t; clamps to the first/last value outside the samples. */
export function valueAt(points: readonly Point[], t: number): number {
  const n = points.length;
  if (n === 0) return Number.NaN;
  const first = points[0] as Point;
  const last = points[n - 1] as Point;
  if (t <= first.t) return first.v;
  if (t >= last.t) return last.v;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((points[mid] as Point).t <= t) lo = mid;
    else hi = mid;
  }
  const a = points[lo] as Point;
  const b = points[hi] as Point;
  return b.t === a.t ? b.v : a.v + ((b.v - a.v) * (t - a.t)) / (b.t - a.t);
}

/**
 * Integral of the piecewise-linear curve through `points` over [from, to] (trapezoid rule, with
 * the curve interpolated at both edges). Parts of the window outside the samples contribute
 * nothing; `coveredS` says how much of it the samples span.
 */
export function integrateLinear(
  points: readonly Point[],
  from: number,
  to: number,
): { integral: number; coveredS: number } {
  let integral = 0;
  let coveredS = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1] as Point;
    const b = points[i] as Point;
    const lo = Math.max(a.t, from);
    const hi = Math.min(b.t, to);
    if (hi <= lo) continue;
    const va = valueAt([a, b], lo);
    const vb = valueAt([a, b], hi);
    integral += ((va + vb) / 2) * (hi - lo);
    coveredS += hi - lo;
  }
  return { integral, coveredS };
}

export interface UnwrappedCounter {
  /** Cumulative millijoules, monotonic. */
  points: Point[];
  wraps: number;
  regressions: number;
}

/**
 * Turns raw counter readings into a monotonic cumulative series. A drop is a wrap when the counter
 * has a known range (RAPL max_energy_range_uj) and the drop is consistent with passing it; any other
 * drop (driver reload, reset) is a regression: the interval contributes nothing and is counted.
 */
export function unwrapCounter(
  readings: readonly { t: number; energyMj: number }[],
  rangeMj?: number,
): UnwrappedCounter {
  const points: Point[] = [];
  let wraps = 0;
  let regressions = 0;
  let cumulative = 0;
  let prev: number | null = null;
  for (const r of readings) {
    if (prev !== null) {
      const step = counterStep(prev, r.energyMj, rangeMj);
      if (step.kind === 'wrap') wraps++;
      else if (step.kind === 'regression') regressions++;
      cumulative += step.deltaMj;
    }
    points.push({ t: r.t, v: cumulative });
    prev = r.energyMj;
  }
  return { points, wraps, regressions };
}

/**
 * The energy between two raw counter readings. A drop is a wrap when the counter has a known range
 * and the drop is consistent with passing it; any other drop is a regression worth 0 mJ.
 */
export function counterStep(
  prevMj: number,
  nextMj: number,
  rangeMj?: number,
): { deltaMj: number; kind: 'ok' | 'wrap' | 'regression' } {
  const delta = nextMj - prevMj;
  if (delta >= 0) return { deltaMj: delta, kind: 'ok' };
  // A real wrap lands just past the range; a drop to a small value mid-range is a reset.
  if (
    rangeMj !== undefined &&
    rangeMj > 0 &&
    prevMj <= rangeMj &&
    delta + rangeMj >= 0 &&
    delta + rangeMj < rangeMj / 2
  )
    return { deltaMj: delta + rangeMj, kind: 'wrap' };
  return { deltaMj: 0, kind: 'regression' };
}

/** Counter readings of a trace, window-relative and time-ordered. */
export function counterReadings(
  readings: readonly EnergyReading[],
  startNs: bigint,
): { t: number; energyMj: number }[] {
  return readings
    .filter(
      (r): r is EnergyReading & { energyMj: number } =>
        typeof r.energyMj === 'number' && Number.isFinite(r.energyMj),
    )
    .map((r) => ({ t: relativeSeconds(r.tMonoNs, startNs), energyMj: r.energyMj }))
    .sort((a, b) => a.t - b.t);
}

/** Power readings of a trace as points, window-relative and time-ordered. */
export function powerPoints(readings: readonly EnergyReading[], startNs: bigint): Point[] {
  return readings
    .filter(
      (r): r is EnergyReading & { powerW: number } =>
        typeof r.powerW === 'number' && Number.isFinite(r.powerW),
    )
    .map((r) => ({ t: relativeSeconds(r.tMonoNs, startNs), v: r.powerW }))
    .sort((a, b) => a.t - b.t);
}

/** Energy in joules from a cumulative-mJ series over [from, to], interpolated at both edges. */
export function counterEnergyJ(points: readonly Point[], from: number, to: number): number {
  if (points.length < 2) return 0;
  return Math.max(0, valueAt(points, to) - valueAt(points, from)) / 1000;
}

/** Seconds of [from, to] that the samples span. */
export function coverage(points: readonly Point[], from: number, to: number): number {
  if (points.length < 2) return 0;
  const lo = Math.max((points[0] as Point).t, from);
  const hi = Math.min((points[points.length - 1] as Point).t, to);
  return Math.max(0, hi - lo);
}

/** Number of times the counter value changed inside (from, to]. */
export function counterUpdates(points: readonly Point[], from: number, to: number): number {
  let updates = 0;
  for (let i = 1; i < points.length; i++) {
    const p = points[i] as Point;
    if (p.t > from && p.t <= to && p.v !== (points[i - 1] as Point).v) updates++;
  }
  return updates;
}

/** Largest gap between consecutive reading times that overlaps [from, to], in seconds. */
export function maxGapS(times: readonly number[], from: number, to: number): number | null {
  let max: number | null = null;
  for (let i = 1; i < times.length; i++) {
    const a = times[i - 1] as number;
    const b = times[i] as number;
    if (b < from || a > to) continue;
    max = Math.max(max ?? 0, b - a);
  }
  return max;
}
