import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad, summarizeRequests } from '../src/index.js';
import { type ScriptedServer, startScriptedServer } from '../src/testing/index.js';
import { baseSpec } from './helpers.js';

describe('measurement windows', () => {
  let server: ScriptedServer;
  beforeAll(async () => {
    server = await startScriptedServer({ firstTokenMs: 15, perTokenMs: 3, tokens: 6 });
  });
  afterAll(() => server.close());

  it('closed loop: steady runs from the N-th concurrent send to the first completion after the last send', async () => {
    const seen: { start?: number; end?: number } = {};
    const run = await runLoad(
      baseSpec(server.baseUrl, { mode: { kind: 'closed', concurrency: 4 }, requests: 14 }),
      {
        onSteadyStart: (ms) => {
          seen.start = ms;
        },
        onSteadyEnd: (ms) => {
          seen.end = ms;
        },
      },
    );
    const r = run.records;
    expect(r.map((x) => x.index)).toEqual([...Array(14).keys()]);
    const steady = run.windows.steady!;
    expect(steady).not.toBeNull();
    // concurrency 4 is first reached when the 4th request is sent
    expect(steady.startMs).toBe(r[3]!.sentMs);
    const lastSent = Math.max(...r.map((x) => x.sentMs));
    expect(lastSent).toBe(r[13]!.sentMs);
    const firstDrainEnd = Math.min(...r.filter((x) => x.endMs > lastSent).map((x) => x.endMs));
    expect(steady.endMs).toBe(firstDrainEnd);
    expect(seen).toEqual({ start: steady.startMs, end: steady.endMs });
    expect(run.windows.whole).toEqual({ startMs: 0, endMs: Math.max(...r.map((x) => x.endMs)) });
    // in the steady window, 4 requests are in flight at every send (none was sent after it)
    expect(r.filter((x) => x.sentMs > steady.endMs)).toHaveLength(0);
  });

  it('closed loop: no steady window when the concurrency is never reached', async () => {
    const run = await runLoad(
      baseSpec(server.baseUrl, { mode: { kind: 'closed', concurrency: 8 }, requests: 5 }),
    );
    expect(run.records).toHaveLength(5);
    expect(run.windows.steady).toBeNull();
    expect(() => summarizeRequests(run, { window: 'steady' })).toThrow(/no steady window/);
  });

  it('closed loop with durationS: nothing is sent after it, and the drain ends the steady state', async () => {
    const run = await runLoad(
      baseSpec(server.baseUrl, {
        mode: { kind: 'closed', concurrency: 3 },
        requests: undefined,
        durationS: 0.3,
      }),
    );
    expect(run.records.length).toBeGreaterThan(3);
    expect(run.records.every((x) => x.sentMs < 300)).toBe(true);
    const lastSent = Math.max(...run.records.map((x) => x.sentMs));
    const steady = run.windows.steady!;
    expect(steady.endMs).toBe(Math.min(...run.records.filter((x) => x.endMs > lastSent).map((x) => x.endMs)));
  });

  it('open loop: steady runs from warmupS to the last arrival; arrivals follow the seeded schedule', async () => {
    const spec = baseSpec(server.baseUrl, {
      mode: { kind: 'open', requestRate: 40 },
      requests: 16,
      seed: 5,
      warmupS: 0.1,
    });
    const run = await runLoad(spec);
    const again = await runLoad(spec);
    expect(run.records.map((x) => x.scheduledMs)).toEqual(again.records.map((x) => x.scheduledMs));
    for (const x of run.records) {
      expect(x.sentMs).toBeGreaterThanOrEqual(x.scheduledMs!); // never early
    }
    expect(run.windows.steady).toEqual({ startMs: 100, endMs: run.records[15]!.sentMs });
    const steady = summarizeRequests(run, { window: 'steady' });
    expect(steady.requests).toBe(run.records.filter((x) => x.sentMs >= 100).length);
    expect(steady.window).toEqual(run.windows.steady);
  });

  it('open loop: durationS bounds the arrivals; a warm-up past the last arrival leaves no steady window', async () => {
    const run = await runLoad(
      baseSpec(server.baseUrl, {
        mode: { kind: 'open', requestRate: 50 },
        requests: undefined,
        durationS: 0.25,
        warmupS: 1,
      }),
    );
    expect(run.records.length).toBeGreaterThan(0);
    expect(run.records.every((x) => (x.scheduledMs as number) < 250)).toBe(true);
    expect(run.windows.steady).toBeNull();
  });

  it('open loop sends on schedule without waiting for earlier requests to finish', async () => {
    const slow = await startScriptedServer({ firstTokenMs: 300, perTokenMs: 10, tokens: 3 });
    try {
      const run = await runLoad(
        baseSpec(slow.baseUrl, { mode: { kind: 'open', requestRate: 100 }, requests: 10 }),
      );
      // all ten go out within the first request's 300 ms to first token
      expect(Math.max(...run.records.map((x) => x.sentMs))).toBeLessThan(run.records[0]!.firstTokenMs!);
    } finally {
      await slow.close();
    }
  });
  it('t0MonoNs: the exact monotonic t0, handed to onStart before the first request and kept in the run', async () => {
    const before = process.hrtime.bigint();
    const started: bigint[] = [];
    let sentBeforeStart = false;
    const run = await runLoad(
      baseSpec(server.baseUrl, { mode: { kind: 'closed', concurrency: 2 }, requests: 3 }),
      {
        onStart: (t0MonoNs) => {
          started.push(t0MonoNs);
        },
        onRequest: () => {
          if (started.length === 0) sentBeforeStart = true;
        },
      },
    );
    const after = process.hrtime.bigint();
    expect(started).toHaveLength(1);
    expect(sentBeforeStart).toBe(false);
    expect(run.t0MonoNs).toBe(started[0]!.toString());
    const t0 = BigInt(run.t0MonoNs);
    expect(t0 >= before && t0 <= after).toBe(true);
    expect(() => JSON.stringify(run)).not.toThrow();
  });
});
