/** How requests are offered: a fixed number in flight (closed loop) or arrivals at a rate (open loop). */
export type LoadMode =
  | { kind: 'closed'; concurrency: number }
  | {
      kind: 'open';
      /** Mean arrivals per second. */
      requestRate: number;
      /** Gamma shape of the inter-arrival times; 1 (the default) = Poisson, < 1 burstier, > 1 smoother. */
      burstiness?: number;
    };

export interface LoadSpec {
  /** Server root, e.g. `http://127.0.0.1:8000` (no trailing `/v1`). */
  baseUrl: string;
  /** `/v1/chat/completions` or `/v1/completions`. */
  api: 'chat' | 'completions';
  model: string;
  /** Used round-robin, in order. */
  prompts: readonly string[];
  mode: LoadMode;
  /** Arrivals (and nothing else random) come from it: same seed, same schedule. */
  seed: number;
  /** Stop after this many requests ... */
  requests?: number;
  /** ... or after this long: no request is sent after it (at least one of the two). */
  durationS?: number;
  maxTokens: number;
  /** temperature, top_p, ...: passed through in the request body. */
  decoding?: Record<string, unknown>;
  /** Per request, from send to the last byte. */
  timeoutS?: number;
  /** e.g. `Authorization` from an env var; never logged nor recorded. */
  headers?: Record<string, string>;
  /** Open loop: the steady state starts this long after t0. */
  warmupS?: number;
  /** Aborts the run: nothing more is sent, requests in flight are aborted and recorded as `aborted`. */
  signal?: AbortSignal;
}

export type RequestStatus = 'ok' | 'error' | 'timeout' | 'aborted';

export interface RequestRecord {
  index: number;
  promptIndex: number;
  /** Open loop: planned send time, ms since t0; null in closed loop. */
  scheduledMs: number | null;
  /** ms since t0 (monotonic, `performance.now` based), taken just before the request is handed to fetch. */
  sentMs: number;
  /** Arrival of the first output token (first chunk with text), ms since t0. */
  firstTokenMs: number | null;
  /** End of the response (or the moment of the error, timeout or abort), ms since t0. */
  endMs: number;
  /** Arrival of each chunk carrying output text, ms since t0 (a chunk may carry more than one token). */
  tokenMs: number[];
  /** From the server's `usage` when it sent one, else null. */
  inputTokens: number | null;
  /** From `usage.completion_tokens` (tokenSource 'usage') or the number of text chunks ('chunks'). */
  outputTokens: number;
  /** 'chunks' = approximate: the server sent no usage, one text chunk is counted as one token. */
  tokenSource: 'usage' | 'chunks';
  status: RequestStatus;
  /** One line saying what went wrong (never a header or secret). */
  error?: string;
  /** HTTP status of the response, when one came. */
  httpStatus?: number;
  /** Server's `finish_reason` when it sent one. */
  finishReason?: string;
}

export interface MsWindow {
  startMs: number;
  endMs: number;
}

export interface LoadRun {
  /** Wall-clock epoch ms of t0, to align with energy samples. */
  t0EpochMs: number;
  /** t0 on the monotonic clock (`process.hrtime.bigint()`, ns, as a decimal string so the run stays JSON), read together with the `performance.now()` origin. */
  t0MonoNs: string;
  /** In send order (index order). */
  records: RequestRecord[];
  windows: { whole: MsWindow; steady: MsWindow | null };
  /** True when `spec.signal` aborted the run. */
  aborted: boolean;
}

export interface LoadHooks {
  /** Called once, synchronously, when t0 is taken and before the first request: t0 on the monotonic clock (ns). */
  onStart?(t0MonoNs: bigint): void;
  /** Called once per request when it has finished (any status). */
  onRequest?(r: RequestRecord): void;
  /** Called live when the steady state starts (ms since t0). */
  onSteadyStart?(ms: number): void;
  /** Called live when the steady state ends (ms since t0). */
  onSteadyEnd?(ms: number): void;
}

/** Percentiles of one latency, in ms; every field null when there is no sample. */
export interface Pct {
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  min: number | null;
  max: number | null;
  /** How many samples. */
  n: number;
}
