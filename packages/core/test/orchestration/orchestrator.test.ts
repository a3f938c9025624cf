import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  createState,
  ExperimentResultSchema,
  InterruptedError,
  markFailed,
  type ProgressEvent,
  transition,
  withProcess,
} from '../../src/index.js';
import { createLlem, planExperiment, runExperiment } from '../../src/orchestration/index.js';
import { catalogOf, readLedger, scriptBackend } from '../../src/testing/script-backend.js';
import { ConstantPowerMeter } from './helpers/constant-power-meter.js';
import { JsonFileTestStore } from './helpers/json-file-store.js';
import { ProcessGroupTestRunner } from './helpers/process-runner.js';

let dir: string;
let store: JsonFileTestStore;
let ledger: string;
const runner = new ProcessGroupTestRunner();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llem-orch-'));
  store = new JsonFileTestStore(join(dir, 'state'));
  ledger = join(dir, 'ledger.txt');
});

const measuredIds = () => readLedger(ledger);
const parts = (extra: { meter?: ConstantPowerMeter } = {}) => ({
  store,
  runner,
  backends: catalogOf(scriptBackend()),
  meter: extra.meter ?? null,
  resultsDir: join(dir, 'results'),
});
const raw = (script: Record<string, unknown> = {}, more: Record<string, unknown> = {}) => ({
  model: 'org/tiny',
  backend: 'script',
  n: 3,
  script: { ledger, ...script },
  ...more,
});

describe('ExperimentOrchestrator: one experiment end to end', () => {
  it('runs a real workload process, writes a valid result.json and marks the state done', async () => {
    const meter = new ConstantPowerMeter({ watts: 100, idleWatts: 40 });
    const events: ProgressEvent[] = [];
    const report = await runExperiment(raw({ output_tokens: 5 }), {
      ...parts({ meter }),
      onProgress: (e) => events.push(e),
    });

    expect(report.status).toBe('done');
    expect(report.resultDir).toBe(join(dir, 'results', `org-tiny_script_${report.configHash.slice(0, 8)}`));
    const result = ExperimentResultSchema.parse(JSON.parse(await readFile(report.resultPath!, 'utf8')));
    expect(result).toMatchObject({
      experiment_id: report.experimentId,
      config_hash: report.configHash,
      study_id: null,
      cycle: null,
      attempt: 1,
    });
    expect(result.workload).toMatchObject({ requests: 3, output_tokens: 15 });
    // Efficiency from the baseline-adjusted measured energy: (100 - 40) W x window / 15 tokens.
    expect(result.efficiency.basis).toBe('adjusted');
    expect(result.efficiency.energy_per_output_token_j).toBeCloseTo((60 * result.energy!.window_s) / 15, 9);
    expect(result.files).toMatchObject({ log: 'workload.log', timeseries_csv: 'timeseries.csv' });
    const timeseries = await readFile(join(report.resultDir!, 'timeseries.csv'), 'utf8');
    expect(timeseries.trim().split('\n')).toHaveLength(3);
    expect(await readFile(join(report.resultDir!, 'workload.log'), 'utf8')).toContain(
      '"event":"window-start"',
    );

    const state = await store.load(report.experimentId);
    expect(state).toMatchObject({ phase: 'done', failed: false, attempt: 1, configHash: report.configHash });
    expect(state!.subprocessPid).not.toBe(process.pid);
    expect(meter.starts).toBe(1);
    expect(meter.stops).toBe(1);
    const steps = events.filter((e) => e.type === 'step').map((e) => (e as { step: string }).step);
    expect(steps).toEqual([
      'claiming',
      'preparing',
      'baseline',
      'launching',
      'measuring',
      'collecting',
      'writing',
      'done',
    ]);
    expect(events.some((e) => e.type === 'workload' && e.event.event === 'progress')).toBe(true);
    expect(existsSync(join(dir, 'results', '.llem-work', report.experimentId))).toBe(false);
    // The meter knows the workload's pid (to tell its GPU processes from others').
    expect(meter.workloadPids).toEqual([[state!.subprocessPid]]);
  });

  it('reports the energy so far while the workload runs, and none after it ends', async () => {
    const events: ProgressEvent[] = [];
    const record = (e: ProgressEvent) => events.push(e);
    await runExperiment(raw({ output_tokens: 1 }), {
      ...parts({ meter: new ConstantPowerMeter({ watts: 100 }) }),
      onProgress: record,
    });
    const live = events.flatMap((e) => (e.type === 'energy' ? [e] : []));
    // At least one per workload `progress` event (n: 3), each after the meter started.
    expect(live.length).toBeGreaterThanOrEqual(3);
    for (const [i, e] of live.entries()) {
      expect(e.measuredJ).toBeGreaterThan(0);
      expect(e.estimatedJ).toBe(0);
      if (i > 0) expect(e.measuredJ).toBeGreaterThanOrEqual(live[i - 1]!.measuredJ);
    }
    const collecting = events.findIndex((e) => e.type === 'step' && e.step === 'collecting');
    expect(events.findLastIndex((e) => e.type === 'energy')).toBeLessThan(collecting);

    events.length = 0;
    await runExperiment(raw({ output_tokens: 1 }, { model: 'org/estimated' }), {
      ...parts({ meter: new ConstantPowerMeter({ watts: 50, source: 'estimate' }) }),
      onProgress: record,
    });
    const estimated = events.flatMap((e) => (e.type === 'energy' ? [e] : []));
    expect(estimated.length).toBeGreaterThanOrEqual(3);
    expect(estimated.every((e) => e.measuredJ === 0 && e.estimatedJ > 0)).toBe(true);
  });

  it('never passes an estimate off as a measurement', async () => {
    const report = await runExperiment(raw(), {
      ...parts({ meter: new ConstantPowerMeter({ watts: 50, source: 'estimate' }) }),
    });
    expect(report.result!.efficiency.basis).toBe('estimate');
    expect(report.result!.energy!.total.measured_j).toBe(0);
  });

  it('without an energy meter records energy: null and says why', async () => {
    const report = await runExperiment(raw(), parts());
    expect(report.result!.energy).toBeNull();
    expect(report.result!.efficiency.basis).toBeNull();
    expect(report.result!.warnings).toContain(
      'energy not measured: no energy meter is available on this machine',
    );
  });

  it('reuses a done experiment, and remeasures it with force', async () => {
    const first = await runExperiment(raw(), parts());
    const again = await runExperiment(raw(), parts());
    expect(again.status).toBe('reused');
    expect(again.resultPath).toBe(first.resultPath);
    expect(await measuredIds()).toHaveLength(1);

    const forced = await runExperiment(raw(), { ...parts(), force: true });
    expect(forced.status).toBe('done');
    expect(forced.attempt).toBe(2);
    expect(await measuredIds()).toHaveLength(2);
  });

  it('records a backend failure with the workload message, then retries it as attempt 2', async () => {
    const marker = join(dir, 'failed-once');
    const failed = await runExperiment(
      raw({ mode: 'fail-once', message: 'CUDA out of memory', fail_once_marker: marker }),
      parts(),
    );
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe('workload failed: CUDA out of memory');
    expect(failed.logPath).toMatch(/workload\.log$/);
    expect(await store.load(failed.experimentId)).toMatchObject({
      failed: true,
      failureKind: 'error',
      errorMessage: 'workload failed: CUDA out of memory',
      phase: 'measuring',
    });

    const retried = await runExperiment(
      raw({ mode: 'fail-once', message: 'CUDA out of memory', fail_once_marker: marker }),
      parts(),
    );
    expect(retried.status).toBe('done');
    expect(retried.attempt).toBe(2);
    expect(retried.previous).toMatchObject({ failed: true, attempt: 1 });
    expect(await store.load(retried.experimentId)).toMatchObject({
      phase: 'done',
      failed: false,
      attempt: 2,
      errorMessage: null,
    });
  });

  it("deletes the plan's cleanup files (a secrets file outside the work dir) whatever happens", async () => {
    const secretsFile = join(dir, 'secrets.env');
    const backends = catalogOf(scriptBackend({ secretsFile }));
    const ok = await runExperiment(raw(), { ...parts(), backends });
    expect(ok.status).toBe('done');
    expect(existsSync(secretsFile)).toBe(false);
    const failed = await runExperiment(raw({ mode: 'crash' }), { ...parts(), backends });
    expect(failed.status).toBe('failed');
    expect(existsSync(secretsFile)).toBe(false);
  });

  it('explains a crash without protocol error from the exit code and stderr', async () => {
    const report = await runExperiment(raw({ mode: 'crash' }), parts());
    expect(report.status).toBe('failed');
    expect(report.error).toBe(
      'workload exited with code 137; last stderr: simulated crash: out of memory; the workload wrote no workload-result.json',
    );
  });

  it('records a timeout as failed with kind timeout', async () => {
    const report = await runExperiment(raw({ mode: 'hang' }, { timeout_seconds: 0.3 }), parts());
    expect(report).toMatchObject({ status: 'failed', failureKind: 'timeout' });
    expect(report.error).toMatch(/^timed out after/);
  });

  it('fails the run with the reasons when energy quality fails under quality_policy: fail', async () => {
    const meter = new ConstantPowerMeter({ watts: 100, failQuality: true });
    const report = await runExperiment(raw({}, { energy: { quality_policy: 'fail' } }), parts({ meter }));
    expect(report.status).toBe('failed');
    expect(report.error).toContain('window-too-short: window shorter than 5 s');
    const kept = await runExperiment(raw({}, { energy: { quality_policy: 'warn' } }), parts({ meter }));
    expect(kept.status).toBe('done');
    expect(kept.result!.warnings).toContain('energy fail: window-too-short: window shorter than 5 s');
  });

  it('an interrupt stops the process group, marks the state failed/interrupted and throws InterruptedError', async () => {
    const controller = new AbortController();
    let pid: number | null = null;
    const promise = runExperiment(raw({ mode: 'hang' }), {
      ...parts(),
      signal: controller.signal,
      onProgress: (event) => {
        if (event.type === 'workload' && event.event.event === 'window-start') controller.abort();
      },
    });
    await expect(promise).rejects.toBeInstanceOf(InterruptedError);
    const plan = planExperiment(raw({ mode: 'hang' }), { backends: parts().backends });
    const state = await store.load(plan.runs[0]!.experimentId);
    expect(state).toMatchObject({
      phase: 'measuring',
      failed: true,
      failureKind: 'interrupted',
      errorMessage: 'interrupted',
    });
    pid = state!.subprocessPid;
    expect(pid).not.toBeNull();
    expect(() => process.kill(pid!, 0)).toThrow();
  });

  it('refuses a run whose recorded process is alive, and retries one whose process is gone', async () => {
    const backends = parts().backends;
    const plan = planExperiment(raw(), { backends });
    const id = plan.runs[0]!.experimentId;
    const hash = plan.runs[0]!.configHash;
    let state = await store.create(id, hash);
    state = await store.save(withProcess(transition(state, 'measuring'), process.pid));
    const busy = await runExperiment(raw(), parts());
    expect(busy.status).toBe('busy');
    expect(busy.error).toMatch(new RegExp(`^already running \\(pid ${process.pid} on host .+\\)$`));

    // A pid that cannot exist: the measuring state is stale, marked so, then retried.
    await store.save(withProcess(state, 2 ** 22 + 12345));
    const retried = await runExperiment(raw(), parts());
    expect(retried.status).toBe('done');
    expect(retried.previous).toMatchObject({ failed: true, failureKind: 'stale' });
  });

  it('retries a failed record even when it failed in the initialising phase', async () => {
    const plan = planExperiment(raw(), { backends: parts().backends });
    const created = await store.create(plan.runs[0]!.experimentId, plan.runs[0]!.configHash);
    await store.save(markFailed(created, 'backend prepare crashed'));
    const report = await runExperiment(raw(), parts());
    expect(report).toMatchObject({ status: 'done', attempt: 1 });
  });

  it('an unknown backend fails the run with a clear message (the orchestrator is driven directly)', async () => {
    const llem = await createLlem({ store, runner, backends: catalogOf(), meters: null, resultsDir: dir });
    const plan = planExperiment(raw(), { backends: parts().backends });
    const run = plan.runs[0]!;
    const report = await llem.runExperiment({
      config: plan.experiments[0]!.config,
      configHash: run.configHash,
      experimentId: run.experimentId,
      outputDir: join(dir, 'results'),
      resultDirName: run.resultDirName,
    });
    expect(report).toMatchObject({
      status: 'failed',
      error: "backend 'script' is not installed (installed: none)",
    });
  });

  it('reuses a completed state of the same config from another id (lone experiments)', async () => {
    const plan = planExperiment(raw(), { backends: parts().backends });
    const other = createState('some-study-1234abcd__x__c1', plan.runs[0]!.configHash);
    const created = await store.create(other.experimentId, other.configHash);
    await store.save(transition(transition(created, 'measuring'), 'done'));
    const report = await runExperiment(raw(), parts());
    expect(report.status).toBe('reused');
    expect(report.previous?.experimentId).toBe('some-study-1234abcd__x__c1');
    expect(await measuredIds()).toHaveLength(0);
  });
});
