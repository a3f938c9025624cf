/**
 * The openai backend measured end to end: the real composition root (createLlem), real workload
 * processes under runner-node, the fs store, the scripted SSE server (@llem/loadgen/testing) as
 * the server llem starts, and the meter factory on the fake libnvidia-ml.so.1 (compiled by the
 * energy package's fixture, loaded through the real koffi binding).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExperimentResult, ExperimentResultSchema, PluginRegistry } from '@llem/core';
import { builtinPlugins, createLlem, type Llem } from '@llem/core/orchestration';
import { studyTableColumns } from '@llem/core/results';
import { createEnergyMeterFactory } from '@llem/energy';
import { arrivalSchedule } from '@llem/loadgen';
import { type ScriptedServer, startScriptedServer } from '@llem/loadgen/testing';
import { ProcessGroupRunner } from '@llem/runner-node';
import { createFsStateStore } from '@llem/state-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFakeNvml, writeFakeNvmlScript } from '../../energy/test/fixtures/fake-nvml.js';
import { processesMentioning, scriptedServer, uniqueMarker } from './helpers.js';

/**
 * The stated tolerance: no request's TTFT or mean ITL is below the script (the client cannot see a
 * token before the server sends it), and the median TTFT is at most TOLERANCE_MS above it. Generous:
 * the tests share 2 cores with builds; the client's added latency is measured in `pnpm bench`.
 */
const TOLERANCE_MS = 100;
/** Longer than the steady window of the closed-loop run can be: it must be flagged short. */
const MIN_WINDOW_S = 60;
const GPU_POWER_W = 250;

let dir = '';
let llem: Llem;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llem-openai-serving-'));
  const nvmlLibrary = await compileFakeNvml(dir);
  const scriptPath = join(dir, 'nvml-script.txt');
  await writeFakeNvmlScript(scriptPath, {
    devices: [{ name: 'Fake-H100', uuid: 'GPU-e2e2', powerW: GPU_POWER_W }],
  });
  process.env.FAKE_NVML_SCRIPT = scriptPath;
  const registry = new PluginRegistry({
    builtins: {
      ...builtinPlugins(),
      backend: { openai: async () => (await import('../src/index.js')).default },
    },
  });
  llem = await createLlem({
    store: await createFsStateStore({ dir: join(dir, 'state') }),
    registry,
    runner: new ProcessGroupRunner(),
    meters: createEnergyMeterFactory({ nvmlLibrary, raplRoot: '/nonexistent/powercap' }),
    resultsDir: join(dir, 'results'),
  });
});

afterAll(async () => {
  await llem?.close();
  await rm(dir, { recursive: true, force: true });
});

const base = {
  model: 'scripted',
  backend: 'openai',
  launch: 'local',
  dataset: { source: 'synthetic', input_len: 16 },
  baseline: { enabled: false },
  energy: { samplers: ['nvml'], sample_interval_ms: 10, min_window_seconds: 0 },
};

interface Measured {
  status: string;
  error: string | null;
  failureKind: string | null;
  result: ExperimentResult | null;
  requests: Record<string, unknown>[];
}

let counter = 0;
async function measure(doc: Record<string, unknown>): Promise<Measured> {
  counter += 1;
  const plan = await llem.plan({ name: `serving-${counter}`, ...base, ...doc });
  const summary = await llem.runStudy(plan);
  const run = summary.runs[0]!;
  const state = await llem.store.load(run.experimentId);
  let result: ExperimentResult | null = null;
  let requests: Record<string, unknown>[] = [];
  if (run.resultPath) {
    result = ExperimentResultSchema.parse(JSON.parse(await readFile(run.resultPath, 'utf8')));
    const text = await readFile(join(run.resultPath, '..', 'requests.jsonl'), 'utf8');
    requests = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
  return { status: run.status, error: run.error, failureKind: state?.failureKind ?? null, result, requests };
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/** Every file under a directory (recursive). */
async function filesIn(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name));
}

describe('a closed-loop run against the scripted server', () => {
  const marker = uniqueMarker('closed');
  let measured: Measured;
  beforeAll(async () => {
    measured = await measure({
      energy: { ...base.energy, min_window_seconds: MIN_WINDOW_S },
      openai: {
        server: { argv: scriptedServer({ firstTokenMs: 40, perTokenMs: 10, tokens: 8 }, marker) },
        concurrency: 3,
        requests: 12,
        max_tokens: 8,
      },
    });
  }, 120_000);

  it('completes with a serving block and one line per request in requests.jsonl', () => {
    expect(measured.error).toBeNull();
    expect(measured.status).toBe('done');
    const serving = measured.result!.serving!;
    expect(serving).toMatchObject({ mode: 'closed', concurrency: 3, request_rate: null, api: 'chat' });
    expect(serving.server).toMatchObject({ kind: 'started', attributable: true });
    expect(serving.requests).toMatchObject({
      count: 12,
      ok: 12,
      errors: 0,
      error_rate: 0,
      token_source: 'usage',
    });
    expect(measured.requests).toHaveLength(12);
    expect(measured.result!.files.requests).toBe('requests.jsonl');
  });

  it('measures TTFT and ITL per request within the stated tolerance of the script', () => {
    // Each chunk is one token here (usage says 8, 8 chunks arrived).
    for (const request of measured.requests) {
      expect(request.status).toBe('ok');
      expect(request.output_tokens).toBe(8);
      expect(request.ttft_ms as number).toBeGreaterThanOrEqual(40);
      expect(request.itl_ms as number[]).toHaveLength(7);
    }
    const latency = measured.result!.workload.latency!;
    expect(latency.ttft_ms.count).toBe(12);
    expect(latency.ttft_ms.p50!).toBeGreaterThanOrEqual(40);
    expect(latency.ttft_ms.p50!).toBeLessThanOrEqual(40 + TOLERANCE_MS);
    // Chunks may arrive together (a gap of 0, then one of 20): the mean gap is the scripted 10 ms.
    expect(latency.itl_ms.count).toBe(12 * 7);
    expect(latency.itl_ms.mean!).toBeGreaterThanOrEqual(10 - 2);
    expect(latency.itl_ms.mean!).toBeLessThanOrEqual(10 + TOLERANCE_MS);
  });

  it('puts the steady window from the third send to the first completion after the last send', () => {
    const serving = measured.result!.serving!;
    const sent = measured.requests.map((r) => r.sent_ms as number).sort((a, b) => a - b);
    const lastSent = sent.at(-1)!;
    const drainStart = Math.min(
      ...measured.requests.map((r) => r.end_ms as number).filter((end) => end >= lastSent),
    );
    const steady = serving.windows.steady!;
    expect(steady.start_ms).toBeCloseTo(sent[2]!, 6);
    expect(steady.end_ms).toBeCloseTo(drainStart, 6);
    expect(serving.windows.headline).toBe('steady');
    expect(serving.windows.whole.start_ms).toBeLessThanOrEqual(steady.start_ms);
    expect(serving.windows.whole.end_ms).toBeGreaterThanOrEqual(steady.end_ms);
    // result.json's window (and its energy) is the steady one.
    expect(measured.result!.window.duration_s).toBeCloseTo(steady.duration_s, 3);
    expect(measured.result!.energy!.window_s).toBeCloseTo(steady.duration_s, 3);
  });

  it('flags a steady window shorter than the energy counter needs', () => {
    const steady = measured.result!.serving!.windows.steady!;
    expect(steady.duration_s).toBeLessThan(MIN_WINDOW_S);
    expect(steady.short).toBe(true);
    expect(measured.result!.warnings.join('\n')).toMatch(
      /steady-state window .* under energy.min_window_seconds/,
    );
  });

  it('splits the whole window energy across the requests: the shares sum to it', () => {
    const serving = measured.result!.serving!;
    const whole = serving.windows.whole;
    const perRequest = serving.per_request_energy!;
    expect(whole.energy_j).not.toBeNull();
    expect(perRequest.basis).toBe('raw');
    expect(perRequest.total_j).toBe(whole.energy_j);
    // The fake GPU draws a constant power: the window energy is power x time.
    expect(whole.energy_j!).toBeCloseTo(GPU_POWER_W * whole.duration_s, 0);
    const shares = measured.requests.map((r) => r.energy_j as number);
    for (const share of shares) expect(share).toBeGreaterThan(0);
    expect(Math.abs(sum(shares) - perRequest.total_j)).toBeLessThanOrEqual(1e-9 * perRequest.total_j);
    expect(perRequest.j_per_request.count).toBe(12);
    expect(perRequest.j_per_output_token!).toBeCloseTo(perRequest.total_j / (12 * 8), 9);
  });

  it('adds its load and per-request energy to the study table', () => {
    const columns = studyTableColumns([measured.result!]);
    const value = (name: string) => columns.find((c) => c.name === name)?.values[0];
    expect(value('serving_mode')).toBe('closed');
    expect(value('serving_concurrency')).toBe(3);
    expect(value('serving_error_rate')).toBe(0);
    expect(value('serving_j_per_request_p50')).toBe(
      measured.result!.serving!.per_request_energy!.j_per_request.p50,
    );
  });

  it('leaves no server process behind', () => {
    expect(processesMentioning(marker)).toEqual([]);
  });
});

describe('an open-loop run', () => {
  it('sends the seeded schedule and puts the steady window from warmup_s to the last arrival', async () => {
    const marker = uniqueMarker('open');
    const run = await measure({
      random_seed: 7,
      openai: {
        server: { argv: scriptedServer({ firstTokenMs: 5, perTokenMs: 2, tokens: 4 }, marker) },
        request_rate: 40,
        burstiness: 0.5,
        requests: 20,
        warmup_s: 0.1,
      },
    });
    expect(run.error).toBeNull();
    const serving = run.result!.serving!;
    expect(serving).toMatchObject({ mode: 'open', concurrency: null, request_rate: 40, burstiness: 0.5 });
    const planned = arrivalSchedule({ kind: 'open', requestRate: 40, burstiness: 0.5 }, 7, 20);
    expect(run.requests.map((r) => r.scheduled_ms)).toEqual(planned);
    for (const r of run.requests)
      expect(r.sent_ms as number).toBeGreaterThanOrEqual(r.scheduled_ms as number);
    const steady = serving.windows.steady!;
    expect(steady.start_ms).toBe(100);
    expect(steady.end_ms).toBe(Math.max(...run.requests.map((r) => r.sent_ms as number)));
    expect(processesMentioning(marker)).toEqual([]);
  }, 60_000);
});

describe('failures', () => {
  it('fails a run whose error rate is above max_error_rate, and keeps one within it', async () => {
    const marker = uniqueMarker('errors');
    const server = {
      argv: scriptedServer({ firstTokenMs: 5, perTokenMs: 2, tokens: 4, errorEvery: 2 }, marker),
    };
    const above = await measure({ openai: { server, concurrency: 2, requests: 8, max_error_rate: 0.25 } });
    expect(above.status).toBe('failed');
    expect(above.failureKind).toBe('error');
    expect(above.error).toMatch(/4 of 8 requests failed \(error rate 0\.500 > max_error_rate 0\.25\)/);
    const within = await measure({ openai: { server, concurrency: 2, requests: 8, max_error_rate: 0.5 } });
    expect(within.status).toBe('done');
    expect(within.result!.serving!.requests).toMatchObject({ errors: 4, ok: 4, error_rate: 0.5 });
    // Failed requests used the server too: they get their share, and the shares still sum up.
    const shares = within.requests.map((r) => r.energy_j as number);
    const total = within.result!.serving!.per_request_energy!.total_j;
    expect(Math.abs(sum(shares) - total)).toBeLessThanOrEqual(1e-9 * total);
    expect(processesMentioning(marker)).toEqual([]);
  }, 120_000);

  it('fails a server that never gets ready, with the end of its log', async () => {
    const marker = uniqueMarker('never-ready');
    const run = await measure({
      openai: {
        server: { argv: scriptedServer({ neverReady: true }, marker), ready_timeout_s: 1.5 },
        requests: 2,
      },
    });
    expect(run.status).toBe('failed');
    expect(run.failureKind).toBe('error');
    expect(run.error).toMatch(/server was not ready after 1.5 s .*\/v1\/models answered 503/s);
    expect(run.error).toMatch(/the server log ends:[\s\S]*listening/);
    expect(processesMentioning(marker)).toEqual([]);
  }, 60_000);

  it('fails a server that crashes mid-run, and leaves nothing running', async () => {
    const marker = uniqueMarker('crash');
    const run = await measure({
      openai: {
        server: {
          argv: scriptedServer({ firstTokenMs: 5, perTokenMs: 5, tokens: 8, crashAfterRequests: 3 }, marker),
        },
        concurrency: 2,
        requests: 20,
      },
    });
    expect(run.status, String(run.error)).toBe('failed');
    expect(run.failureKind).toBe('error');
    expect(run.error).toMatch(/the server exited with code 1 during the run/);
    expect(run.error).toMatch(/crashing after 3 requests/);
    expect(processesMentioning(marker)).toEqual([]);
  }, 60_000);

  it('stops a run past timeout_seconds as a timeout, server included', async () => {
    const marker = uniqueMarker('timeout');
    const run = await measure({
      timeout_seconds: 2,
      openai: {
        server: { argv: scriptedServer({ firstTokenMs: 10, perTokenMs: 100, tokens: 100 }, marker) },
        requests: 50,
      },
    });
    expect(run.status).toBe('failed');
    expect(run.failureKind).toBe('timeout');
    expect(processesMentioning(marker)).toEqual([]);
  }, 60_000);
});

describe('an endpoint llem did not start', () => {
  let server: ScriptedServer;
  beforeAll(async () => {
    server = await startScriptedServer({ firstTokenMs: 5, perTokenMs: 2, tokens: 4, usage: false });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('is measured, says its processes are not attributable, and marks chunk-counted tokens', async () => {
    const secret = `sk-e2e-${Math.random().toString(36).slice(2)}`;
    process.env.LLEM_E2E_API_KEY = secret;
    const run = await measure({
      openai: { endpoint: server.baseUrl, concurrency: 2, requests: 6, api_key_env: 'LLEM_E2E_API_KEY' },
    }).finally(() => {
      delete process.env.LLEM_E2E_API_KEY;
    });
    expect(run.error).toBeNull();
    const serving = run.result!.serving!;
    expect(serving.server).toMatchObject({ kind: 'endpoint', attributable: false });
    expect(serving.server.note).toMatch(/not llem's/);
    expect(serving.requests.token_source).toBe('chunks');
    expect(run.result!.warnings.join('\n')).toMatch(/cannot be attributed/);
    expect(run.result!.warnings.join('\n')).toMatch(/approximate/);
    expect(server.requests).toHaveLength(6 + 1); // and the warm-up request
    // The API key is in no file llem keeps (results, work folders, state) and its 0600 file is gone.
    for (const file of await filesIn(dir)) expect(await readFile(file, 'utf8'), file).not.toContain(secret);
    expect((await readdir(tmpdir())).filter((name) => name.startsWith('llem-openai-key-'))).toEqual([]);
  }, 60_000);
});
