/**
 * The openai backend through the built `llem`: bad input is one clear error (exit 2), and Ctrl+C
 * during a run stops the server with the workload (exit 130, nothing left running).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { buildLlem, createSandbox, finished, llem, type Sandbox, startLlem } from '@llem/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesMentioning, scriptedServer, uniqueMarker } from './helpers.js';

let box: Sandbox;
beforeAll(() => {
  buildLlem();
  box = createSandbox('llem-openai-cli-');
}, 900_000);
afterAll(() => box?.remove());

describe('llem run with backend: openai', () => {
  it('refuses a server without a port and a misspelt field: exit 2, one error naming both', async () => {
    const path = box.write(
      'bad.yaml',
      'model: m\nbackend: openai\nopenai:\n  server: { argv: [my-server] }\n  concurency: 4\n',
    );
    const run = await llem(['run', path], box.env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: .*bad\.yaml: openai\.server\.argv: names no port: put \{port\}/m);
    expect(run.stderr).toMatch(
      /openai\.concurency: unknown field 'concurency' \(did you mean 'concurrency'\?\)/,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('stops the server with the workload on Ctrl+C', async () => {
    const marker = uniqueMarker('sigint');
    const argv = scriptedServer({ firstTokenMs: 10, perTokenMs: 50, tokens: 200 }, marker);
    const study = {
      model: 'scripted',
      backend: 'openai',
      launch: 'local',
      dataset: { source: 'synthetic', input_len: 8 },
      baseline: { enabled: false },
      energy: { enabled: false },
      openai: { server: { argv }, concurrency: 2, requests: 50 },
    };
    const path = box.write('slow.yaml', JSON.stringify(study));
    const child = startLlem(['run', path], box.env);
    const done = finished(child);
    // The server is up and the load has started (the warm-up request alone takes 10 s).
    for (let i = 0; i < 200 && processesMentioning(marker).length === 0; i++) await sleep(50);
    expect(processesMentioning(marker).length).toBeGreaterThan(0);
    await sleep(1000);
    child.kill('SIGINT');
    const run = await done;
    expect(run.code, run.stderr).toBe(130);
    expect(processesMentioning(marker)).toEqual([]);
    const status = await llem(['status', '--json'], box.env);
    expect(status.stdout).toMatch(/interrupted/);
  }, 120_000);
});
