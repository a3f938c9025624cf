/**
 * A real server that nobody here wrote: `transformers serve` (transformers' own OpenAI-compatible
 * server, in the harness venv with test/requirements-serving.txt, which scripts/test.sh installs)
 * serving a local directory that holds the builtin tiny GPT-2 on CPU, measured through the built
 * `llem`: a study sweeping concurrency 1 and 4 over 2 cycles. On CPU the server runs without
 * --continuous_batching (it queries GPU memory) and has no /v1/completions, so the study uses chat.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExperimentResultSchema } from '@llem/core';
import {
  buildLlem,
  createSandbox,
  harnessPython,
  jsonLines,
  llem,
  processesMentioning,
  repoRoot,
  type Sandbox,
} from '@llem/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REQUIREMENTS = 'packages/backend-openai/test/requirements-serving.txt';
const MAKE_MODEL = fileURLToPath(new URL('./fixtures/make_tiny_model.py', import.meta.url));

let box: Sandbox;
let python = '';
let modelDir = '';

beforeAll(() => {
  buildLlem();
  python = harnessPython();
  try {
    execFileSync(python, ['-c', 'import fastapi, uvicorn, openai, accelerate'], { stdio: 'pipe' });
  } catch {
    throw new Error(
      `transformers serve needs fastapi, uvicorn, openai and accelerate in ${python}: run \`${python} -m pip install -r ${REQUIREMENTS}\` (scripts/test.sh does)`,
    );
  }
  box = createSandbox('llem-openai-serve-', { HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' });
  modelDir = join(box.dir, 'tiny-gpt2-model');
  execFileSync(python, [MAKE_MODEL, modelDir], {
    env: {
      ...process.env,
      PYTHONPATH: join(repoRoot, 'packages/backend-pytorch/harness'),
      HF_HUB_OFFLINE: '1',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 300_000,
  });
}, 1_800_000);

afterAll(() => box?.remove());

describe('llem run: a study of transformers serve under load', () => {
  it('sweeps concurrency 1 and 4 over 2 cycles, per request, and leaves no server behind', async () => {
    const transformers = join(dirname(python), 'transformers');
    const study = {
      name: 'transformers-serve',
      model: modelDir,
      backend: 'openai',
      launch: 'local',
      dataset: { source: 'synthetic', input_len: 16 },
      max_output_tokens: 12,
      baseline: { enabled: false },
      energy: { samplers: ['cpu-estimate'], cpu_tdp_watts: 65, min_window_seconds: 0 },
      openai: {
        server: {
          argv: [
            transformers,
            'serve',
            '--force_model',
            modelDir,
            '--device',
            'cpu',
            '--host',
            '127.0.0.1',
            '--port',
            '{port}',
          ],
          env: { HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' },
          ready_timeout_s: 300,
        },
        api: 'chat',
        requests: 12,
      },
      sweep: { 'openai.concurrency': [1, 4] },
      cycles: 2,
    };
    const path = box.write('study.yaml', JSON.stringify(study));
    const run = await llem(['run', path, '--json'], box.env);
    expect(run.code, run.stderr).toBe(0);
    const summary = jsonLines(run.stdout).find((line) => line.type === 'summary') as {
      runs: { status: string; resultPath: string | null }[];
    };
    expect(summary.runs.map((r) => r.status)).toEqual(['done', 'done', 'done', 'done']);

    const concurrencies: number[] = [];
    for (const entry of summary.runs) {
      const result = ExperimentResultSchema.parse(JSON.parse(readFileSync(entry.resultPath!, 'utf8')));
      const serving = result.serving!;
      concurrencies.push(serving.concurrency!);
      expect(serving.server).toMatchObject({ kind: 'started', attributable: true });
      expect(serving.requests).toMatchObject({ count: 12, ok: 12, errors: 0 });
      // The steady window is the headline: result.json's window and energy are its.
      const steady = serving.windows.steady!;
      expect(serving.windows.headline).toBe('steady');
      expect(steady.duration_s).toBeGreaterThan(0);
      expect(result.window.duration_s).toBeCloseTo(steady.duration_s, 3);
      expect(steady.energy_j).not.toBeNull();
      // Per request: TTFT and ITL measured, and the shares of the whole window's energy sum to it.
      const requests = readFileSync(join(dirname(entry.resultPath!), 'requests.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { ttft_ms: number; itl_ms: number[]; energy_j: number });
      expect(requests).toHaveLength(12);
      for (const request of requests) {
        expect(request.ttft_ms).toBeGreaterThan(0);
        expect(request.itl_ms.length).toBeGreaterThan(0);
        expect(request.energy_j).toBeGreaterThan(0);
      }
      const perRequest = serving.per_request_energy!;
      const total = requests.reduce((sum, r) => sum + r.energy_j, 0);
      expect(Math.abs(total - perRequest.total_j)).toBeLessThanOrEqual(1e-9 * perRequest.total_j);
      expect(perRequest.j_per_request.p50).not.toBeNull();
      expect(perRequest.j_per_output_token).not.toBeNull();
    }
    expect(concurrencies.sort()).toEqual([1, 1, 4, 4]);
    // The server was llem's: nothing that names the model directory runs any more.
    expect(processesMentioning(modelDir)).toEqual([]);
  }, 900_000);
});
