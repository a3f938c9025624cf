import type { LoadMode } from './types.js';

/**
 * A small seeded PRNG (mulberry32 over a splitmix32-scrambled seed): fast, 32-bit state, and the
 * same sequence on every platform, which is all a reproducible arrival schedule needs.
 */
export function seededRandom(seed: number): () => number {
  let s = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  s = Math.imul(s ^ (s >>> 16), 0x85ebca6b) >>> 0;
  s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35) >>> 0;
  s = (s ^ (s >>> 16)) >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform in (0, 1): never 0, so logarithms stay finite. */
function open01(rand: () => number): number {
  let u = rand();
  while (u === 0) u = rand();
  return u;
}

/** Standard normal (Box-Muller). */
function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(open01(rand))) * Math.cos(2 * Math.PI * rand());
}

/** Gamma(shape, scale 1) by Marsaglia and Tsang; shape < 1 by the boost u^(1/shape). */
export function sampleGamma(shape: number, rand: () => number): number {
  if (shape < 1) return sampleGamma(shape + 1, rand) * open01(rand) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rand);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = open01(rand);
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/**
 * Planned send times, in ms after t0, of an open-loop run, without end. The first request goes at
 * 0; each gap is Gamma(shape = burstiness, mean = 1 / requestRate): exponential, i.e. Poisson
 * arrivals, when burstiness is 1. Same mode and seed: the same sequence, on every run and machine.
 */
export function* arrivalTimes(
  mode: Extract<LoadMode, { kind: 'open' }>,
  seed: number,
): Generator<number, never> {
  const shape = mode.burstiness ?? 1;
  if (!(mode.requestRate > 0) || !Number.isFinite(mode.requestRate)) {
    throw new RangeError(`requestRate must be a positive number, got ${mode.requestRate}`);
  }
  if (!(shape > 0) || !Number.isFinite(shape)) {
    throw new RangeError(`burstiness must be a positive number, got ${shape}`);
  }
  const rand = seededRandom(seed);
  const meanMs = 1000 / mode.requestRate;
  let t = 0;
  for (;;) {
    yield t;
    t += (sampleGamma(shape, rand) / shape) * meanMs;
  }
}

/**
 * The first `n` planned send times (ms after t0) of `arrivalTimes`; closed loop has no schedule
 * and gets all zeros.
 */
export function arrivalSchedule(mode: LoadMode, seed: number, n: number): number[] {
  if (mode.kind === 'closed') return new Array<number>(n).fill(0);
  const out: number[] = [];
  const it = arrivalTimes(mode, seed);
  for (let i = 0; i < n; i++) out.push(it.next().value);
  return out;
}
