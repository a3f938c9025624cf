import { describe, expect, it } from 'vitest';
import { runLoad, summarizeRequests } from '../src/index.js';
import { startScriptedServer } from '../src/testing/index.js';
import { baseSpec } from './helpers.js';

describe('token counts and request bodies', () => {
  it('usage from the server: exact counts, tokenSource usage', async () => {
    const server = await startScriptedServer({
      firstTokenMs: 2,
      perTokenMs: 1,
      tokens: 8,
      tokensPerChunk: 3,
    });
    try {
      const run = await runLoad(baseSpec(server.baseUrl, { api: 'chat', requests: 2, maxTokens: 100 }));
      for (const r of run.records) {
        expect(r).toMatchObject({
          status: 'ok',
          tokenSource: 'usage',
          outputTokens: 8,
          finishReason: 'length',
        });
        expect(r.tokenMs).toHaveLength(3); // 3 + 3 + 2 tokens in 3 chunks; the role-only chunk is not a token
        expect(r.inputTokens).toBeGreaterThan(0);
      }
      expect(summarizeRequests(run).approximateTokens).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('no usage from the server: chunk counting, marked approximate (and it undercounts multi-token chunks)', async () => {
    const server = await startScriptedServer({
      firstTokenMs: 2,
      perTokenMs: 1,
      tokens: 8,
      tokensPerChunk: 3,
      usage: false,
    });
    try {
      const run = await runLoad(baseSpec(server.baseUrl, { requests: 2, maxTokens: 100 }));
      for (const r of run.records) {
        expect(r).toMatchObject({ status: 'ok', tokenSource: 'chunks', outputTokens: 3, inputTokens: null });
      }
      const s = summarizeRequests(run);
      expect(s.approximateTokens).toBe(true);
      expect(s.outputTokens).toBe(6);
    } finally {
      await server.close();
    }
  });

  it('sends max_tokens, stream_options.include_usage, decoding settings and prompts round-robin; headers stay out of records', async () => {
    const server = await startScriptedServer({ firstTokenMs: 1, perTokenMs: 1, tokens: 10 });
    try {
      const secret = 'sk-test-0123456789';
      const run = await runLoad(
        baseSpec(server.baseUrl, {
          api: 'chat',
          prompts: ['alpha', 'beta', 'gamma'],
          requests: 5,
          maxTokens: 4,
          decoding: { temperature: 0, top_p: 0.9, stream: false },
          headers: { authorization: `Bearer ${secret}` },
        }),
      );
      expect(run.records.map((r) => r.promptIndex)).toEqual([0, 1, 2, 0, 1]);
      expect(run.records.every((r) => r.outputTokens === 4)).toBe(true); // max_tokens honoured
      const bodies = server.requests.map((r) => r.body as Record<string, unknown>);
      expect(bodies.map((b) => (b.messages as Array<{ content: string }>)[0]!.content)).toEqual([
        'alpha',
        'beta',
        'gamma',
        'alpha',
        'beta',
      ]);
      expect(bodies[0]).toMatchObject({
        model: 'scripted',
        max_tokens: 4,
        stream: true, // a decoding setting cannot turn streaming off
        stream_options: { include_usage: true },
        temperature: 0,
        top_p: 0.9,
      });
      expect(JSON.stringify(run)).not.toContain(secret);
      // the key is sent, on every request, as the Authorization header
      expect(server.requests).toHaveLength(5);
      for (const r of server.requests) expect(r.headers.authorization).toBe(`Bearer ${secret}`);
    } finally {
      await server.close();
    }
  });

  it('refuses a spec that cannot run, naming the field', async () => {
    const spec = baseSpec('http://127.0.0.1:1');
    await expect(runLoad({ ...spec, prompts: [] })).rejects.toThrow(/prompts/);
    await expect(runLoad({ ...spec, requests: undefined })).rejects.toThrow(/requests.*durationS/);
    await expect(runLoad({ ...spec, mode: { kind: 'closed', concurrency: 0 } })).rejects.toThrow(
      /concurrency/,
    );
    await expect(runLoad({ ...spec, baseUrl: 'localhost:8000' })).rejects.toThrow(/baseUrl/);
  });
});
