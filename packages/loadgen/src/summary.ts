import type { LoadRun, MsWindow, Pct, RequestRecord } from './types.js';

/**
 * The q-quantile (0..1) of a non-empty, ascending sample by linear interpolation between closest
 * ranks (numpy's default).
 */
export function quantileOfSorted(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const a = sorted[lo] as number;
  return a + ((sorted[Math.ceil(pos)] as number) - a) * (pos - lo);
}

/**
 * Percentiles by linear interpolation between closest ranks (numpy's default), so p50 of
 * [1, 2, 3, 4] is 2.5. Every field is null when there is no sample.
 */
export function percentiles(values: readonly number[]): Pct {
  if (values.length === 0) return { mean: null, p50: null, p90: null, p99: null, min: null, max: null, n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => quantileOfSorted(sorted, q);
  return {
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    n: sorted.length,
  };
}

/** Time to first token of one request (ms), null without a token. */
export const ttftOf = (r: RequestRecord): number | null =>
  r.firstTokenMs === null ? null : r.firstTokenMs - r.sentMs;

/** Gaps between consecutive output chunks of one request (ms). */
export function itlOf(r: RequestRecord): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < r.tokenMs.length; i++)
    gaps.push((r.tokenMs[i] as number) - (r.tokenMs[i - 1] as number));
  return gaps;
}

/**
 * Time per output token after the first (ms): (end - first token) / (output tokens - 1); null with
 * fewer than 2 tokens. With usage counts this is exact per token even when a chunk holds several.
 */
export function tpotOf(r: RequestRecord): number | null {
  if (r.firstTokenMs === null || r.outputTokens < 2) return null;
  return (r.endMs - r.firstTokenMs) / (r.outputTokens - 1);
}

export interface RequestSummary {
  ttftMs: Pct;
  itlMs: Pct;
  tpotMs: Pct;
  e2eMs: Pct;
  /** Requests counted (every status, in the window). */
  requests: number;
  ok: number;
  errors: number;
  timeouts: number;
  aborted: number;
  /** (errors + timeouts) / (requests - aborted); 0 when nothing finished. */
  errorRate: number;
  /** Output tokens of the ok requests. */
  outputTokens: number;
  /** True when any counted token comes from chunk counting (no usage from the server). */
  approximateTokens: boolean;
  /** ok requests per second of the window. */
  requestsPerS: number;
  /** Output tokens of ok requests per second of the window. */
  outputTokensPerS: number;
  /** The window the figures cover, ms since t0. */
  window: MsWindow;
}

/**
 * Latency percentiles, error counts and throughput of a run. `window: 'whole'` (the default)
 * counts every request over the whole run; `'steady'` counts the requests sent inside the steady
 * window and divides by its length (throws when the run has no steady window). Latencies are of
 * ok requests only.
 */
export function summarizeRequests(
  run: LoadRun,
  options: { window?: 'whole' | 'steady' } = {},
): RequestSummary {
  const which = options.window ?? 'whole';
  const window = which === 'steady' ? run.windows.steady : run.windows.whole;
  if (!window) throw new RangeError('summarizeRequests: this run has no steady window');
  const records =
    which === 'steady'
      ? run.records.filter((r) => r.sentMs >= window.startMs && r.sentMs <= window.endMs)
      : run.records;
  const ok = records.filter((r) => r.status === 'ok');
  const count = (s: RequestRecord['status']) => records.filter((r) => r.status === s).length;
  const errors = count('error');
  const timeouts = count('timeout');
  const aborted = count('aborted');
  const finished = records.length - aborted;
  const outputTokens = ok.reduce((s, r) => s + r.outputTokens, 0);
  const seconds = (window.endMs - window.startMs) / 1000;
  return {
    ttftMs: percentiles(ok.map(ttftOf).filter((v): v is number => v !== null)),
    itlMs: percentiles(ok.flatMap(itlOf)),
    tpotMs: percentiles(ok.map(tpotOf).filter((v): v is number => v !== null)),
    e2eMs: percentiles(ok.map((r) => r.endMs - r.sentMs)),
    requests: records.length,
    ok: ok.length,
    errors,
    timeouts,
    aborted,
    errorRate: finished > 0 ? (errors + timeouts) / finished : 0,
    outputTokens,
    approximateTokens: ok.some((r) => r.tokenSource === 'chunks'),
    requestsPerS: seconds > 0 ? ok.length / seconds : 0,
    outputTokensPerS: seconds > 0 ? outputTokens / seconds : 0,
    window,
  };
}
