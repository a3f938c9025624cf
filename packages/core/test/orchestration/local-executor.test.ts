import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExperimentResultSchema, type ProgressEvent } from '../../src/index.js';
import { createLlem, expandStudy, runStudy } from '../../src/orchestration/index.js';
import { catalogOf, readLedger, scriptBackend } from '../../src/testing/script-backend.js';
import { ConstantPowerMeter } from './helpers/constant-power-meter.js';
import { JsonFileTestStore } from './helpers/json-file-store.js';
import { ProcessGroupTestRunner } from './helpers/process-runner.js';

let dir: string;
let stateDir: string;
let ledger: string;
const runner = new ProcessGroupTestRunner();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llem-study-'));
  stateDir = join(dir, 'state');
  ledger = join(dir, 'ledger.txt');
});

const measured = () => readLedger(ledger);
const options = (extra: { meter?: ConstantPowerMeter } = {}) => ({
  store: new JsonFileTestStore(stateDir),
  runner,
  backends: catalogOf(scriptBackend()),
  meter: extra.meter ?? null,
  resultsDir: join(dir, 'results'),
});
const study = (more: Record<string, unknown> = {}) => ({
  name: 'demo',
  model: 'm',
  backend: 'script',
  n: 2,
  script: { ledger },
  sweep: { 'script.output_tokens': [1, 2] },
  cycles: 2,
  ...more,
});

describe('the local executor', () => {
  it('runs every experiment x cycle in plan order and writes results, study.json and the study table', async () => {
    const summary = await runStudy(study({ order: 'interleaved' }), options());
    const plan = expandStudy(study({ order: 'interleaved' }), { backends: options().backends });
    expect(summary.counts).toMatchObject({ total: 4, done: 4, failed: 0 });
    expect(summary.runs.map((r) => r.experimentId)).toEqual(plan.runs.map((r) => r.experimentId));
    expect(await measured()).toEqual(plan.runs.map((r) => r.experimentId));
    expect(summary.studyDir).toBe(join(dir, 'results', plan.studyId!));
    for (const run of summary.runs) {
      const result = ExperimentResultSchema.parse(JSON.parse(await readFile(run.resultPath!, 'utf8')));
      expect(result).toMatchObject({
        study_id: plan.studyId,
        cycle: run.cycle,
        experiment_id: run.experimentId,
      });
    }
    expect(summary.runs[0]!.resultPath).toMatch(/demo-[0-9a-f]{8}\/m_script_[0-9a-f]{8}_c1\/result\.json$/);
    expect(summary.tableFiles).toMatchObject({ study_csv: 'study.csv' });
    expect(existsSync(join(summary.studyDir, 'study.csv'))).toBe(true);
    const document = JSON.parse(await readFile(join(summary.studyDir, 'study.json'), 'utf8'));
    expect(document.summary.counts.done).toBe(4);
  });

  it('resumes: done runs are reused without remeasuring, a failed run is retried', async () => {
    const marker = join(dir, 'failed-once');
    const failing = study({
      script: { ledger, fail_once_marker: marker },
      sweep: { 'script.mode': ['ok', 'fail-once'] },
      cycles: 1,
    });
    const first = await runStudy(failing, options());
    expect(first.runs.map((r) => r.status)).toEqual(['done', 'failed']);
    expect(first.runs[1]!.error).toBe('workload failed: model failed to load');

    const second = await runStudy(failing, options());
    expect(second.runs.map((r) => [r.status, r.attempt])).toEqual([
      ['reused', 1],
      ['done', 2],
    ]);
    expect(second.runs[0]!.resultPath).toBe(first.runs[0]!.resultPath);
    expect((await measured()).filter((id) => id === first.runs[0]!.experimentId)).toHaveLength(1);

    const forced = await runStudy(failing, { ...options(), force: true });
    expect(forced.runs.map((r) => r.status)).toEqual(['done', 'done']);
    expect(await measured()).toHaveLength(4);
  });

  it('applies the experiment gap between measured runs and the cycle gap at cycle boundaries, recording them', async () => {
    const summary = await runStudy(
      study({ order: 'interleaved', gaps: { experiment_seconds: 0.05, cycle_seconds: 0.1 } }),
      options(),
    );
    const gaps = summary.runs.map((r) => r.gapBeforeS);
    expect(gaps[0]).toBeNull();
    expect(gaps[1]).toBeGreaterThanOrEqual(0.05);
    // Run 3 starts cycle 2: experiment gap + cycle gap.
    expect(gaps[2]).toBeGreaterThanOrEqual(0.15);
    const result = JSON.parse(await readFile(summary.runs[2]!.resultPath!, 'utf8'));
    expect(result.timings.gap_before_s).toBe(gaps[2]);
    // A resumed study reuses everything: no gap is waited for runs that are not measured.
    const again = await runStudy(
      study({ order: 'interleaved', gaps: { experiment_seconds: 30, cycle_seconds: 0 } }),
      options(),
    );
    expect(again.runs.map((r) => [r.status, r.gapBeforeS])).toEqual(Array(4).fill(['reused', null]));
  });

  it('waits for the GPUs to cool down to the limit before each measured run', async () => {
    const meter = new ConstantPowerMeter({ watts: 100, temperatures: [90, 85, 70, 60] });
    const events: ProgressEvent[] = [];
    const summary = await runStudy(
      study({
        cycles: 1,
        sweep: { n: 1 },
        gaps: { cooldown: { max_temperature_c: 75, poll_seconds: 0.01, timeout_seconds: 60 } },
      }),
      { ...options({ meter }), onProgress: (e) => events.push(e) },
    );
    expect(summary.counts.done).toBe(1);
    const cooldowns = events.filter((e) => e.type === 'gap' && e.reason === 'cooldown');
    expect(cooldowns.map((e) => (e as { temperatures?: Record<string, number> }).temperatures)).toEqual([
      { gpu0: 90 },
      { gpu0: 85 },
    ]);
    expect(summary.runs[0]!.gapBeforeS).not.toBeNull();
  });

  it('an interrupt ends the study: the running run is interrupted, the rest not run; a rerun retries it', async () => {
    const doc = study({
      sweep: undefined,
      cycles: 1,
      experiments: [
        { script: { mode: 'ok' } },
        { script: { mode: 'hang' } },
        { script: { mode: 'ok', output_tokens: 3 } },
      ],
    });
    const hangId = expandStudy(doc, { backends: options().backends }).runs[1]!.experimentId;
    const runUntilHang = () => {
      const controller = new AbortController();
      return runStudy(doc, {
        ...options(),
        signal: controller.signal,
        onProgress: (event) => {
          if (
            event.type === 'workload' &&
            event.event.event === 'window-start' &&
            event.experimentId === hangId
          )
            controller.abort();
        },
      });
    };
    const summary = await runUntilHang();
    expect(summary.interrupted).toBe(true);
    expect(summary.runs.map((r) => r.status)).toEqual(['done', 'interrupted', 'not-run']);
    const store = new JsonFileTestStore(stateDir);
    expect(await store.load(hangId)).toMatchObject({ failed: true, failureKind: 'interrupted', attempt: 1 });

    const again = await runUntilHang();
    expect(again.runs.map((r) => [r.status, r.attempt])).toEqual([
      ['reused', 1],
      ['interrupted', 2],
      ['not-run', null],
    ]);
  });

  it('two runners sharing one store never measure the same experiment-cycle twice', async () => {
    const plan = expandStudy(
      study({ sweep: { 'script.output_tokens': [1, 2, 3] }, cycles: 2, order: 'interleaved' }),
      {
        backends: options().backends,
      },
    );
    // Two compositions (two orchestrators, two local executors) on one store directory.
    const a = await createLlem({ ...options(), meters: null });
    const b = await createLlem({ ...options(), meters: null });
    const [sa, sb] = await Promise.all([a.runStudy(plan), b.runStudy(plan)]);
    const ids = await measured();
    expect([...ids].sort()).toEqual(plan.runs.map((r) => r.experimentId).sort());
    for (let i = 0; i < plan.runs.length; i++) {
      const statuses = [sa.runs[i]!.status, sb.runs[i]!.status].sort();
      expect([
        ['busy', 'done'],
        ['done', 'reused'],
      ]).toContainEqual(statuses);
    }

    // Both with force: every run is remeasured once more, not once per runner.
    const forced = { force: true };
    await Promise.all([a.runStudy(plan, forced), b.runStudy(plan, forced)]);
    expect((await measured()).length).toBe(2 * plan.runs.length);
  });

  it('two llem processes on one study never measure the same experiment-cycle twice', async () => {
    const doc = study({
      sweep: { 'script.output_tokens': [1, 2, 3] },
      cycles: 2,
      order: 'shuffled',
      shuffle_seed: 7,
    });
    const child = fileURLToPath(new URL('./helpers/run-study-child.ts', import.meta.url));
    const spawnChild = () =>
      new Promise<string>((resolve, reject) => {
        const proc = spawn(
          process.execPath,
          [
            '--conditions=dev-source',
            '--import',
            'tsx',
            child,
            JSON.stringify({ doc, stateDir, resultsDir: join(dir, 'results') }),
          ],
          {
            cwd: fileURLToPath(new URL('../..', import.meta.url)),
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let out = '';
        proc.stdout.on('data', (chunk) => (out += chunk));
        proc.stderr.on('data', (chunk) => (out += chunk));
        proc.on('error', reject);
        proc.on('close', (code) =>
          code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${out}`)),
        );
      });
    const outputs = await Promise.all([spawnChild(), spawnChild()]);
    const plan = expandStudy(doc, { backends: options().backends });
    expect([...(await measured())].sort()).toEqual(plan.runs.map((r) => r.experimentId).sort());
    const summaries = outputs.map(
      (out) => JSON.parse(out.trim().split('\n').pop()!) as { done: number; busy: number; reused: number },
    );
    expect(summaries[0]!.done + summaries[1]!.done).toBe(plan.runs.length);
  }, 60_000);
});
