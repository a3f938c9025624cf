import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendRequest } from './request.js';
import { arrivalTimes } from './schedule.js';
import type { LoadHooks, LoadRun, LoadSpec, MsWindow, RequestRecord } from './types.js';

/** Throws a RangeError naming the field when a spec cannot run (callers validate user config first). */
export function checkSpec(spec: LoadSpec): void {
  const bad = (field: string, why: string) => {
    throw new RangeError(`loadgen: ${field} ${why}`);
  };
  if (!/^https?:\/\//.test(spec.baseUrl))
    bad('baseUrl', `must be an http(s) URL, got ${JSON.stringify(spec.baseUrl)}`);
  if (spec.prompts.length === 0) bad('prompts', 'must hold at least one prompt');
  if (spec.requests === undefined && spec.durationS === undefined)
    bad('requests', 'or durationS must be set');
  if (spec.requests !== undefined && !(Number.isInteger(spec.requests) && spec.requests >= 1)) {
    bad('requests', `must be an integer >= 1, got ${spec.requests}`);
  }
  if (spec.durationS !== undefined && !(spec.durationS > 0))
    bad('durationS', `must be > 0, got ${spec.durationS}`);
  if (!(Number.isInteger(spec.maxTokens) && spec.maxTokens >= 1))
    bad('maxTokens', `must be an integer >= 1, got ${spec.maxTokens}`);
  if (spec.timeoutS !== undefined && !(spec.timeoutS > 0))
    bad('timeoutS', `must be > 0, got ${spec.timeoutS}`);
  if (spec.warmupS !== undefined && !(spec.warmupS >= 0)) bad('warmupS', `must be >= 0, got ${spec.warmupS}`);
  if (spec.mode.kind === 'closed') {
    const c = spec.mode.concurrency;
    if (!(Number.isInteger(c) && c >= 1)) bad('mode.concurrency', `must be an integer >= 1, got ${c}`);
  } else {
    if (!(spec.mode.requestRate > 0 && Number.isFinite(spec.mode.requestRate))) {
      bad('mode.requestRate', `must be a positive number, got ${spec.mode.requestRate}`);
    }
    const b = spec.mode.burstiness;
    if (b !== undefined && !(b > 0 && Number.isFinite(b)))
      bad('mode.burstiness', `must be a positive number, got ${b}`);
  }
}

/** The JSON body for one prompt: decoding settings first, so they cannot turn streaming off. */
export function requestBody(spec: LoadSpec, prompt: string): string {
  const input = spec.api === 'chat' ? { messages: [{ role: 'user', content: prompt }] } : { prompt };
  return JSON.stringify({
    ...spec.decoding,
    model: spec.model,
    ...input,
    max_tokens: spec.maxTokens,
    stream: true,
    stream_options: { include_usage: true },
  });
}

/** Waits until `targetMs` after t0: a timer for all but the last millisecond, then yields to I/O until due. */
async function waitUntil(t0: number, targetMs: number, signal: AbortSignal | undefined): Promise<void> {
  const left = targetMs - (performance.now() - t0);
  if (left > 1) {
    try {
      await sleep(left - 1, undefined, { signal });
    } catch {
      return; // aborted
    }
  }
  while (performance.now() - t0 < targetMs && !signal?.aborted) await new Promise<void>(setImmediate);
}

/**
 * Runs a load against an OpenAI-compatible server and records every request. Never rejects for a
 * request's failure (each is a record with a status); resolves with what was recorded when
 * `spec.signal` aborts (requests in flight end as `aborted`, nothing more is sent).
 *
 * Closed loop: `concurrency` workers, each sending its next request when its last one ends.
 * Open loop: requests are sent at their planned times from `arrivalTimes(mode, seed)` without
 * waiting for earlier ones to finish.
 */
export async function runLoad(spec: LoadSpec, hooks: LoadHooks = {}): Promise<LoadRun> {
  checkSpec(spec);
  const url = new URL(
    `${spec.baseUrl.replace(/\/+$/, '')}/v1/${spec.api === 'chat' ? 'chat/completions' : 'completions'}`,
  );
  const agent = new (url.protocol === 'https:' ? HttpsAgent : Agent)({
    keepAlive: true,
    maxSockets: Number.POSITIVE_INFINITY,
  });
  const headers = { 'content-type': 'application/json', accept: 'text/event-stream', ...spec.headers };
  const bodies = spec.prompts.map((p) => requestBody(spec, p));
  const timeoutMs = spec.timeoutS === undefined ? null : spec.timeoutS * 1000;
  const durationMs = spec.durationS === undefined ? Number.POSITIVE_INFINITY : spec.durationS * 1000;
  const maxRequests = spec.requests ?? Number.POSITIVE_INFINITY;
  const signal = spec.signal;
  const t0MonoNs = process.hrtime.bigint();
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  hooks.onStart?.(t0MonoNs);
  const records: RequestRecord[] = [];
  let abortedAtMs: number | null = null;
  const onAbort = () => {
    abortedAtMs = now();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  let steadyStart: number | null = null;
  let steadyEnd: number | null = null;
  const startSteady = (ms: number) => {
    if (steadyStart !== null) return;
    steadyStart = ms;
    hooks.onSteadyStart?.(ms);
  };
  const endSteady = (ms: number) => {
    if (steadyStart === null || steadyEnd !== null) return;
    steadyEnd = ms;
    hooks.onSteadyEnd?.(ms);
  };

  const send = async (index: number, scheduledMs: number | null, sentMs: number): Promise<RequestRecord> => {
    const promptIndex = index % bodies.length;
    const record = await sendRequest(
      { url, agent, body: bodies[promptIndex] as string, headers, api: spec.api, t0, timeoutMs, signal },
      { index, promptIndex, scheduledMs, sentMs },
    );
    records.push(record);
    hooks.onRequest?.(record);
    return record;
  };

  if (spec.mode.kind === 'closed') {
    const target = spec.mode.concurrency;
    let next = 0;
    let inFlight = 0;
    const canSend = () => next < maxRequests && now() < durationMs && !signal?.aborted;
    const worker = async () => {
      while (canSend()) {
        const index = next++;
        inFlight++;
        const sentMs = now();
        if (inFlight === target) startSteady(sentMs);
        const record = await send(index, null, sentMs);
        inFlight--;
        // The first completion after which nothing more is sent starts the drain: steady state ends.
        if (!canSend() && !signal?.aborted) endSteady(record.endMs);
      }
    };
    await Promise.all(Array.from({ length: target }, worker));
  } else {
    const warmupMs = (spec.warmupS ?? 0) * 1000;
    if (warmupMs === 0) startSteady(0);
    const warmupTimer = warmupMs > 0 ? setTimeout(() => startSteady(warmupMs), warmupMs) : undefined;
    const inFlight: Promise<RequestRecord>[] = [];
    const arrivals = arrivalTimes(spec.mode, spec.seed);
    let lastSentMs: number | null = null;
    for (let index = 0; index < maxRequests; index++) {
      const at = arrivals.next().value;
      if (at >= durationMs) break;
      await waitUntil(t0, at, signal);
      if (signal?.aborted) break;
      lastSentMs = now();
      inFlight.push(send(index, at, lastSentMs));
    }
    clearTimeout(warmupTimer);
    if (lastSentMs !== null && lastSentMs > warmupMs && !signal?.aborted) {
      startSteady(warmupMs);
      endSteady(lastSentMs);
    }
    await Promise.all(inFlight);
  }

  agent.destroy();
  records.sort((a, b) => a.index - b.index);
  const endMs = records.reduce((m, r) => Math.max(m, r.endMs), 0);
  signal?.removeEventListener('abort', onAbort);
  if (signal?.aborted) endSteady(abortedAtMs ?? now());
  const steady: MsWindow | null =
    steadyStart !== null && steadyEnd !== null && steadyEnd > steadyStart
      ? { startMs: steadyStart, endMs: steadyEnd }
      : null;
  return {
    t0EpochMs: performance.timeOrigin + t0,
    t0MonoNs: t0MonoNs.toString(),
    records,
    windows: { whole: { startMs: 0, endMs }, steady },
    aborted: signal?.aborted ?? false,
  };
}
