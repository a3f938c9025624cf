import { describe, expect, it } from 'vitest';
import { runLoad, summarizeRequests } from '../src/index.js';
import { startScriptedServer } from '../src/testing/index.js';
import { baseSpec } from './helpers.js';

describe('errors, timeouts and abort', () => {
  it('injected HTTP 500 on every 3rd request: error records, error rate 1/3', async () => {
    const server = await startScriptedServer({ firstTokenMs: 5, perTokenMs: 1, tokens: 3, errorEvery: 3 });
    try {
      const run = await runLoad(baseSpec(server.baseUrl, { requests: 9 }));
      expect(run.records.map((r) => r.status)).toEqual([
        'ok',
        'ok',
        'error',
        'ok',
        'ok',
        'error',
        'ok',
        'ok',
        'error',
      ]);
      const bad = run.records[2]!;
      expect(bad.httpStatus).toBe(500);
      expect(bad.error).toMatch(/^HTTP 500: .*scripted error on request 3/);
      expect(bad.firstTokenMs).toBeNull();
      const s = summarizeRequests(run);
      expect(s).toMatchObject({ requests: 9, ok: 6, errors: 3, timeouts: 0 });
      expect(s.errorRate).toBeCloseTo(1 / 3, 12);
      expect(s.ttftMs.n).toBe(6);
    } finally {
      await server.close();
    }
  });

  it('a stalled stream times out with the tokens that came, and the run goes on', async () => {
    const server = await startScriptedServer({
      firstTokenMs: 5,
      perTokenMs: 2,
      tokens: 6,
      stallAfterTokens: 2,
    });
    try {
      const run = await runLoad(baseSpec(server.baseUrl, { requests: 2, timeoutS: 0.25 }));
      for (const r of run.records) {
        expect(r.status).toBe('timeout');
        expect(r.tokenMs).toHaveLength(2);
        expect(r.error).toMatch(/within 0.25 s/);
        expect(r.endMs - r.sentMs).toBeGreaterThanOrEqual(250 - 1);
      }
      expect(summarizeRequests(run)).toMatchObject({ timeouts: 2, errorRate: 1 });
    } finally {
      await server.close();
    }
  });

  it('a dropped connection mid-stream is an error, not ok', async () => {
    const server = await startScriptedServer({
      firstTokenMs: 5,
      perTokenMs: 2,
      tokens: 6,
      dropAfterTokens: 3,
    });
    try {
      const run = await runLoad(baseSpec(server.baseUrl, { requests: 2 }));
      for (const r of run.records) {
        expect(r.status).toBe('error');
        expect(r.error).toMatch(/^connection dropped mid-stream/);
        expect(r.tokenMs).toHaveLength(3);
      }
    } finally {
      await server.close();
    }
  });

  it('a server that never gets ready answers 503 everywhere', async () => {
    const server = await startScriptedServer({ firstTokenMs: 5, perTokenMs: 1, tokens: 3, neverReady: true });
    try {
      expect((await fetch(`${server.baseUrl}/health`)).status).toBe(503);
      expect((await fetch(`${server.baseUrl}/v1/models`)).status).toBe(503);
      const run = await runLoad(baseSpec(server.baseUrl, { requests: 2 }));
      expect(run.records.map((r) => r.httpStatus)).toEqual([503, 503]);
      expect(run.records.every((r) => r.status === 'error')).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('a server that crashes after 3 requests: the rest are errors, the run still ends', async () => {
    const server = await startScriptedServer({
      firstTokenMs: 5,
      perTokenMs: 1,
      tokens: 3,
      crashAfterRequests: 3,
    });
    try {
      const run = await runLoad(baseSpec(server.baseUrl, { requests: 6, timeoutS: 5 }));
      expect(server.crashed()).toBe(true);
      expect(run.records.slice(0, 3).map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
      expect(run.records[3]!.status).toBe('error');
      expect(run.records[3]!.error).toMatch(/^connection (dropped|failed)/);
      expect(run.records.slice(4).map((r) => r.error)).toEqual([
        expect.stringMatching(/^connection failed: ECONNREFUSED/),
        expect.stringMatching(/^connection failed: ECONNREFUSED/),
      ]);
    } finally {
      await server.close();
    }
  });

  it('abort: in-flight requests end as aborted, nothing more is sent, the run resolves', async () => {
    const server = await startScriptedServer({
      firstTokenMs: 5,
      perTokenMs: 2,
      tokens: 6,
      stallAfterTokens: 1,
    });
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 150);
      const run = await runLoad(
        baseSpec(server.baseUrl, {
          mode: { kind: 'closed', concurrency: 3 },
          requests: 100,
          signal: controller.signal,
        }),
      );
      expect(run.aborted).toBe(true);
      expect(run.records).toHaveLength(3);
      expect(server.requests).toHaveLength(3);
      for (const r of run.records) {
        expect(r.status).toBe('aborted');
        expect(r.tokenMs).toHaveLength(1);
        expect(r.endMs).toBeGreaterThanOrEqual(145);
      }
      expect(run.windows.steady?.endMs).toBeGreaterThanOrEqual(145);
      const s = summarizeRequests(run);
      expect(s).toMatchObject({ aborted: 3, errors: 0, errorRate: 0 });
    } finally {
      await server.close();
    }
  });

  it('abort during an open loop stops the schedule', async () => {
    const server = await startScriptedServer({ firstTokenMs: 5, perTokenMs: 1, tokens: 2 });
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const run = await runLoad(
        baseSpec(server.baseUrl, {
          mode: { kind: 'open', requestRate: 20 },
          requests: 1000,
          signal: controller.signal,
        }),
      );
      expect(run.aborted).toBe(true);
      expect(run.records.length).toBeLessThan(20);
      expect(run.records.every((r) => r.sentMs < 210)).toBe(true);
    } finally {
      await server.close();
    }
  });
});
