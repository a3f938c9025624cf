import type { MsWindow, Pct, RequestRecord } from '@llem/loadgen';

/** A loadgen percentile block (`n` samples) as result.json's LatencyStats (`count`). */
export function latencyStats(pct: Pct) {
  return {
    count: pct.n,
    mean: pct.mean,
    p50: pct.p50,
    p90: pct.p90,
    p99: pct.p99,
    min: pct.min,
    max: pct.max,
  };
}

/** Output tokens one streamed chunk of a record stands for (usage counts spread over its chunks). */
export function tokensPerChunk(record: Pick<RequestRecord, 'tokenMs' | 'outputTokens'>): number {
  return record.tokenMs.length > 0 ? record.outputTokens / record.tokenMs.length : 0;
}

/**
 * What a window paid for: requests that finished ok in it (and their prompt tokens), and the
 * output tokens that arrived in it (a request cut by an edge counts the tokens on each side).
 */
export function countInWindow(records: readonly RequestRecord[], span: MsWindow) {
  let requests = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  for (const record of records) {
    if (record.status === 'ok' && record.endMs >= span.startMs && record.endMs <= span.endMs) {
      requests += 1;
      inputTokens += record.inputTokens ?? 0;
    }
    const per = tokensPerChunk(record);
    for (const t of record.tokenMs) if (t >= span.startMs && t <= span.endMs) outputTokens += per;
  }
  return { requests, inputTokens, outputTokens: Math.round(outputTokens) };
}
