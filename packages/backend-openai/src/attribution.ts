import type { MsWindow, RequestRecord } from '@llem/loadgen';
import { tokensPerChunk } from './workload/summary.js';

/** At most this many energy intervals per window (neighbouring ones are merged beyond it). */
export const MAX_INTERVALS = 5000;

export const ATTRIBUTION_METHOD =
  "The window is cut at the energy readings; each interval's energy goes to the requests in flight in it, in proportion to the tokens each produced there: an output token weighs 1 (a streamed chunk weighs the usage count spread over its chunks), a prompt token weighs prefill_weight, spread over the request's time to first token. An interval in which no token was produced goes to the requests in flight by time; energy while no request was in flight (idle_j) is shared in proportion to the energy each request got otherwise. The shares sum to the window's energy.";

export interface Attribution {
  /** Joules per request, by record index order of `records`. */
  perRequestJ: number[];
  /** Energy of intervals with no request in flight (already shared out in perRequestJ). */
  idleJ: number;
  intervals: number;
}

/** The interval edges of a window (ms): its start, every reading inside it, its end. */
export function intervalEdges(window: MsWindow, readingsMs: readonly number[]): number[] {
  const inside = [...new Set(readingsMs.filter((t) => t > window.startMs && t < window.endMs))].sort(
    (a, b) => a - b,
  );
  let edges = [window.startMs, ...inside, window.endMs];
  if (edges.length - 1 > MAX_INTERVALS) {
    const step = Math.ceil((edges.length - 1) / MAX_INTERVALS);
    edges = edges.filter((_, i) => i % step === 0 || i === edges.length - 1);
  }
  return edges;
}

const overlap = (a0: number, a1: number, b0: number, b1: number) =>
  Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));

/**
 * Splits a window's energy across its requests. `intervalJ[i]` is the energy of the interval
 * [edges[i], edges[i+1]] (any scale: it is normalised to `totalJ`, so the shares sum to totalJ).
 */
export function attributeEnergy(
  records: readonly RequestRecord[],
  edges: readonly number[],
  intervalJ: readonly number[],
  totalJ: number,
  prefillWeight: number,
): Attribution {
  const n = records.length;
  const perRequestJ = new Array<number>(n).fill(0);
  const intervals = Math.max(0, edges.length - 1);
  if (n === 0 || intervals === 0) return { perRequestJ, idleJ: totalJ, intervals };
  // Normalise the interval energies to the window's total (their sum differs by rounding, clamping).
  const span = edges[intervals]! - edges[0]!;
  const raw = intervalJ.map((j) => (Number.isFinite(j) && j > 0 ? j : 0));
  const rawSum = raw.reduce((a, b) => a + b, 0);
  const scaled =
    rawSum > 0
      ? raw.map((j) => (j / rawSum) * totalJ)
      : raw.map((_, i) => (span > 0 ? ((edges[i + 1]! - edges[i]!) / span) * totalJ : totalJ / intervals));
  let idleJ = 0;
  const weights = new Array<number>(n);
  for (let i = 0; i < intervals; i++) {
    const a = edges[i]!;
    const b = edges[i + 1]!;
    const last = i === intervals - 1;
    const energy = scaled[i]!;
    let sum = 0;
    for (let r = 0; r < n; r++) {
      const record = records[r]!;
      let w = 0;
      if (record.sentMs <= b && record.endMs >= a) {
        const per = tokensPerChunk(record);
        for (const t of record.tokenMs) if (t >= a && (t < b || (last && t <= b))) w += per;
        const prefillEnd = record.firstTokenMs ?? record.endMs;
        const prefillSpan = prefillEnd - record.sentMs;
        const prompt = (record.inputTokens ?? 0) * prefillWeight;
        if (prompt > 0)
          w +=
            prefillSpan > 0
              ? (prompt * overlap(record.sentMs, prefillEnd, a, b)) / prefillSpan
              : record.sentMs >= a && record.sentMs < b
                ? prompt
                : 0;
      }
      weights[r] = w;
      sum += w;
    }
    if (sum <= 0) {
      // No token in this interval: the requests in flight share it by time.
      for (let r = 0; r < n; r++) {
        const record = records[r]!;
        weights[r] = overlap(record.sentMs, record.endMs, a, b);
        sum += weights[r]!;
      }
    }
    if (sum <= 0) {
      idleJ += energy;
      continue;
    }
    for (let r = 0; r < n; r++) perRequestJ[r]! += (energy * weights[r]!) / sum;
  }
  if (idleJ > 0) {
    const attributed = perRequestJ.reduce((a, b) => a + b, 0);
    for (let r = 0; r < n; r++)
      perRequestJ[r]! += attributed > 0 ? (idleJ * perRequestJ[r]!) / attributed : idleJ / n;
  }
  return { perRequestJ, idleJ, intervals };
}
