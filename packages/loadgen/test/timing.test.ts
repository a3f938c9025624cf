import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itlOf, runLoad, summarizeRequests, ttftOf } from '../src/index.js';
import { baseSpec, median, startServerProcess } from './helpers.js';

// The server runs in its own process, as in production: the client's event loop is not the server's.
// Tolerance (see README "Timing tolerance"): lower bounds exact (-0.5 ms float slack), since both
// clocks are monotonic, the client's starts before the send and the server never sends early;
// upper bounds on the median only (+10 ms TTFT, ±1.5 ms ITL), since single chunks on a shared
// 2-core machine can be delayed by a descheduled tick.
const SLACK = 0.5;

for (const script of [
  { firstTokenMs: 20, perTokenMs: 5, tokens: 12 },
  { firstTokenMs: 60, perTokenMs: 15, tokens: 6 },
]) {
  describe(`TTFT and ITL against a scripted server (${script.firstTokenMs} ms first, ${script.perTokenMs} ms per token)`, () => {
    let server: { child: ChildProcess; baseUrl: string };
    beforeAll(async () => {
      server = await startServerProcess(script);
    });
    afterAll(() => {
      server.child.kill('SIGTERM');
    });

    for (const api of ['completions', 'chat'] as const) {
      it(`${api}: measured times match the script`, async () => {
        const run = await runLoad(
          baseSpec(server.baseUrl, {
            api,
            requests: 12,
            maxTokens: 100,
            mode: { kind: 'closed', concurrency: 2 },
          }),
        );
        expect(run.records.map((r) => r.status)).toEqual(new Array(12).fill('ok'));
        for (const r of run.records) {
          expect(r.tokenMs).toHaveLength(script.tokens);
          expect(r.outputTokens).toBe(script.tokens);
          expect(r.tokenSource).toBe('usage');
          expect(ttftOf(r)).toBeGreaterThanOrEqual(script.firstTokenMs - SLACK);
          const last = r.tokenMs.at(-1) as number;
          expect(last - r.sentMs).toBeGreaterThanOrEqual(
            script.firstTokenMs + (script.tokens - 1) * script.perTokenMs - SLACK,
          );
          expect(r.endMs).toBeGreaterThanOrEqual(last);
        }
        const ttfts = run.records.map((r) => ttftOf(r) as number);
        expect(median(ttfts)).toBeLessThanOrEqual(script.firstTokenMs + 10);
        const itl = median(run.records.flatMap(itlOf));
        expect(Math.abs(itl - script.perTokenMs)).toBeLessThanOrEqual(1.5);
        const s = summarizeRequests(run);
        expect(s.ttftMs.n).toBe(12);
        expect(s.itlMs.n).toBe(12 * (script.tokens - 1));
        expect(s.tpotMs.p50).toBeGreaterThanOrEqual(script.perTokenMs - SLACK);
        expect(s.errors + s.timeouts).toBe(0);
        expect(s.errorRate).toBe(0);
        expect(s.outputTokens).toBe(12 * script.tokens);
      });
    }
  });
}
