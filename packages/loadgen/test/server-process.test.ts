import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runLoad } from '../src/index.js';
import { parseScriptArgs, scriptToArgs } from '../src/testing/index.js';
import { baseSpec, startServerProcess } from './helpers.js';

describe('the scripted server as its own process', () => {
  it('prints its port, serves /health and /v1/models, and exits 0 on SIGTERM', async () => {
    const server = await startServerProcess({ firstTokenMs: 5, perTokenMs: 1, tokens: 3, model: 'tiny' });
    expect(server.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${server.baseUrl}/health`)).json()).toEqual({ status: 'ok' });
    const models = (await (await fetch(`${server.baseUrl}/v1/models`)).json()) as {
      data: Array<{ id: string }>;
    };
    expect(models.data[0]!.id).toBe('tiny');
    const before = Date.now();
    await runLoad(baseSpec(server.baseUrl, { requests: 2 }));
    // what arrived when, for a client in another process (epoch ms, sub-ms precision)
    const seen = (await (await fetch(`${server.baseUrl}/scripted/requests`)).json()) as Array<{
      count: number;
      path: string;
      receivedEpochMs: number;
      status: number;
    }>;
    expect(seen.map((r) => [r.count, r.path, r.status])).toEqual([
      [1, '/v1/completions', 200],
      [2, '/v1/completions', 200],
    ]);
    expect(seen[0]!.receivedEpochMs).toBeGreaterThanOrEqual(before - 1);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('reads the script from the environment (never ready: 503)', async () => {
    const server = await startServerProcess(
      { firstTokenMs: 5, perTokenMs: 1, tokens: 3 },
      {
        ...process.env,
        LLEM_SCRIPTED_NEVER_READY: '1',
      },
    );
    expect((await fetch(`${server.baseUrl}/health`)).status).toBe(503);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('crashes after n requests: exits 1, the load generator records errors', async () => {
    const server = await startServerProcess({
      firstTokenMs: 5,
      perTokenMs: 1,
      tokens: 3,
      crashAfterRequests: 2,
    });
    const run = await runLoad(baseSpec(server.baseUrl, { requests: 4 }));
    expect(run.records.map((r) => r.status)).toEqual(['ok', 'ok', 'error', 'error']);
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toMatch(/crashing after 2 requests/);
  });

  it('refuses a bad flag with one error line and exit code 2', async () => {
    const serveTs = fileURLToPath(new URL('../src/testing/serve.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', serveTs, '--first-token-ms', 'soon'], {
      stdio: 'pipe',
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(err.trim()).toBe('error: --first-token-ms must be a number >= 0, got "soon"');
  });

  it('flags round-trip', () => {
    const script = {
      firstTokenMs: 20,
      perTokenMs: 5,
      tokens: 16,
      errorEvery: 4,
      neverReady: true,
      usage: false,
      model: 'm',
    };
    expect(parseScriptArgs(scriptToArgs(script), {})).toMatchObject(script);
  });
});
