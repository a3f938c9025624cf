import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLlem, type Llem } from '../orchestration/llem.js';
import { studyDirFor } from '../orchestration/naming.js';
import type { ProgressEvent, RunStep } from '../orchestration/progress.js';
import type { StudyPlan } from '../orchestration/study-plan.js';
import { STUDY_SUMMARY_FILE, type StudySummary } from '../orchestration/study-summary.js';
import type { StoreLocation, StudyExecutor } from '../plugins/executor.js';
import { PluginRegistry } from '../plugins/registry.js';
import type { Runner } from '../plugins/runner.js';
import { readResultFile } from '../results/read-results.js';
import { withOwner } from '../state/experiment-state.js';
import type { StateStore } from '../state/store.js';
import { readLedger } from './script-backend.js';

/** A fresh, empty store for one test, and where other processes open that same store. */
export interface ExecutorContractStore {
  store: StateStore;
  /** Null for executors that measure in this process only. */
  location: StoreLocation | null;
}

/** What an executor's test gives the suite: how to build the parts `createLlem` puts together. */
export interface ExecutorContractSetup {
  /** The executor under test (called once per study run). */
  executor(): StudyExecutor | Promise<StudyExecutor>;
  /** A fresh, empty store in `dir` (a new directory for every test). */
  store(dir: string): ExecutorContractStore | Promise<ExecutorContractStore>;
  /** The runner that measures runs in this process (for executors that measure here). */
  runner: Runner;
  /**
   * Plugin modules (absolute paths or package names) that every process measuring a run loads:
   * at least the script backend (`SCRIPT_BACKEND_MODULE`, or the built file of
   * `@llem/core/testing/script-backend` for processes that run plain JavaScript).
   */
  plugins: readonly string[];
  /** The argv that starts llem in another process (`exec <file>` follows), for executors that start one. */
  llemCommand?: readonly string[];
}

export interface ExecutorContractOptions {
  /** Milliseconds per test (default 60 000; jobs on a scheduler may need more). */
  timeoutMs?: number;
}

const FINAL_STEPS: readonly RunStep[] = ['done', 'reused', 'failed', 'busy', 'interrupted'];

/**
 * The behaviour every StudyExecutor must have (see the contract in plugins/executor.ts), checked
 * with real workloads of the `script` backend, each measured window counted in a ledger file its
 * experiment config names (so a run measured in another process is counted too):
 *
 * - every planned run that is not done is measured exactly once and ends `done` in the summary,
 *   in the store and in study.json; progress names each run (`run-start`, then one final step)
 *   and hands its result over as a `result` event;
 * - a second run reuses every run and measures nothing; `force` remeasures each run exactly once;
 * - a run whose state another live process holds is `busy` and not measured;
 * - a failing run is a `failed` entry (never a throw) and the other runs still run;
 * - an already-aborted signal ends the study `interrupted` and measures nothing.
 *
 * Usage in a vitest file:
 *   describeExecutorContract('local', () => ({
 *     executor: () => new LocalExecutor(),
 *     store: (dir) => ({ store: openMyStore(dir), location: null }),
 *     runner: new ProcessGroupRunner(),
 *     plugins: [SCRIPT_BACKEND_MODULE],
 *   }));
 */
export function describeExecutorContract(
  name: string,
  setup: () => ExecutorContractSetup | Promise<ExecutorContractSetup>,
  options: ExecutorContractOptions = {},
): void {
  const timeout = options.timeoutMs ?? 60_000;
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  /** One test's world: a directory, its store, a composition over it, and the study to run. */
  const world = async () => {
    const given = await setup();
    const dir = await mkdtemp(join(tmpdir(), 'llem-executor-contract-'));
    dirs.push(dir);
    const ledger = join(dir, 'ledger.txt');
    const { store, location } = await given.store(join(dir, 'state'));
    const resultsDir = join(dir, 'results');
    const llem = await createLlem({
      store,
      ...(location ? { storeLocation: location } : {}),
      resultsDir,
      registry: new PluginRegistry({ modules: given.plugins }),
      runner: given.runner,
      meters: null,
      llemCommand: given.llemCommand ?? [],
    });
    const plan = (more: Record<string, unknown> = {}) =>
      llem.plan({
        name: 'contract',
        model: 'contract-model',
        backend: 'script',
        launch: 'local',
        n: 2,
        baseline: { enabled: false },
        energy: { enabled: false },
        script: { ledger },
        sweep: { 'script.output_tokens': [1, 2] },
        cycles: 1,
        ...more,
      });
    const run = async (
      studyPlan: StudyPlan,
      runOptions: { force?: boolean; signal?: AbortSignal } = {},
    ): Promise<{ summary: StudySummary; events: ProgressEvent[] }> => {
      const events: ProgressEvent[] = [];
      const summary = await llem.runStudy(studyPlan, {
        ...runOptions,
        executor: await given.executor(),
        onProgress: (event) => events.push(event),
      });
      return { summary, events };
    };
    return { llem, store, resultsDir, plan, run, measured: () => readLedger(ledger) };
  };

  const closing = async (llem: Llem, body: () => Promise<void>) => {
    try {
      await body();
    } finally {
      await llem.close();
    }
  };

  const sorted = (ids: readonly string[]) => [...ids].sort();
  const finalSteps = (events: readonly ProgressEvent[], experimentId: string) =>
    events.filter(
      (e) => e.type === 'step' && e.experimentId === experimentId && FINAL_STEPS.includes(e.step),
    ) as Extract<ProgressEvent, { type: 'step' }>[];

  describe(`StudyExecutor contract: ${name}`, () => {
    it('has a name', async () => {
      const executor = await (await setup()).executor();
      expect(typeof executor.name).toBe('string');
      expect(executor.name.length).toBeGreaterThan(0);
    });

    it(
      'measures every planned run exactly once: done in the summary, the store and study.json; progress names each run and hands over its result',
      async () => {
        const w = await world();
        await closing(w.llem, async () => {
          const plan = await w.plan({ cycles: 2 });
          const ids = plan.runs.map((r) => r.experimentId);
          const { summary, events } = await w.run(plan);

          expect(summary.interrupted).toBe(false);
          expect(summary.counts, JSON.stringify(summary.runs)).toMatchObject({
            total: 4,
            done: 4,
            failed: 0,
          });
          expect(summary.runs.map((r) => r.experimentId)).toEqual(ids);
          expect(summary.studyDir).toBe(studyDirFor(w.resultsDir, plan.studyId));
          expect(sorted(await w.measured())).toEqual(sorted(ids));

          for (const [i, entry] of summary.runs.entries()) {
            const planned = plan.runs[i]!;
            expect(entry).toMatchObject({ status: 'done', configHash: planned.configHash, error: null });
            const read = await readResultFile(entry.resultPath!);
            expect(read && 'result' in read ? read.result : read).toMatchObject({
              experiment_id: planned.experimentId,
              config_hash: planned.configHash,
              cycle: planned.cycle,
              study_id: plan.studyId,
            });
            expect(await w.store.load(planned.experimentId)).toMatchObject({
              phase: 'done',
              failed: false,
              configHash: planned.configHash,
            });

            const starts = events.filter(
              (e) => e.type === 'run-start' && e.experimentId === planned.experimentId,
            );
            expect(starts).toHaveLength(1);
            expect(starts[0]).toMatchObject({ position: planned.position, total: 4, cycle: planned.cycle });
            const finals = finalSteps(events, planned.experimentId);
            expect(finals.map((e) => e.step)).toEqual(['done']);
            expect(events.indexOf(starts[0]!)).toBeLessThan(events.indexOf(finals[0]!));
            const results = events.filter(
              (e) => e.type === 'result' && e.experimentId === planned.experimentId,
            );
            expect(results).toHaveLength(1);
            expect(results[0]).toMatchObject({
              result: { experiment_id: planned.experimentId, config_hash: planned.configHash },
            });
          }

          const document = JSON.parse(await readFile(join(summary.studyDir, STUDY_SUMMARY_FILE), 'utf8'));
          expect(document).toMatchObject({
            schema: 'llem.study/1',
            summary: { studyId: plan.studyId, counts: { total: 4, done: 4 } },
          });
        });
      },
      timeout,
    );

    it(
      'a second run reuses every run and measures nothing; its results are still handed over',
      async () => {
        const w = await world();
        await closing(w.llem, async () => {
          const plan = await w.plan();
          const first = await w.run(plan);
          expect(first.summary.counts).toMatchObject({ total: 2, done: 2 });
          const measured = await w.measured();

          const { summary, events } = await w.run(plan);
          expect(summary.interrupted).toBe(false);
          expect(summary.counts).toMatchObject({ total: 2, reused: 2, done: 0 });
          expect(await w.measured()).toEqual(measured);
          for (const [i, entry] of summary.runs.entries()) {
            expect(entry.resultPath).toBe(first.summary.runs[i]!.resultPath);
            expect(finalSteps(events, entry.experimentId).map((e) => e.step)).toEqual(['reused']);
            expect(events.some((e) => e.type === 'result' && e.experimentId === entry.experimentId)).toBe(
              true,
            );
          }
        });
      },
      timeout,
    );

    it(
      'force remeasures each run exactly once',
      async () => {
        const w = await world();
        await closing(w.llem, async () => {
          const plan = await w.plan();
          const ids = plan.runs.map((r) => r.experimentId);
          expect((await w.run(plan)).summary.counts).toMatchObject({ done: 2 });

          const { summary } = await w.run(plan, { force: true });
          expect(summary.counts).toMatchObject({ total: 2, done: 2, reused: 0 });
          expect(sorted(await w.measured())).toEqual(sorted([...ids, ...ids]));
          for (const id of ids)
            expect(await w.store.load(id)).toMatchObject({ phase: 'done', failed: false, attempt: 2 });
        });
      },
      timeout,
    );

    it(
      'a run whose state another live process holds is busy and not measured; the others run',
      async () => {
        const w = await world();
        // Another llem process, alive for the whole study, holds the first run's claim.
        const holder: ChildProcess = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
          stdio: 'ignore',
        });
        await closing(w.llem, async () => {
          try {
            const plan = await w.plan();
            const [held, free] = plan.runs;
            const created = await w.store.create(held!.experimentId, held!.configHash, {
              studyId: plan.studyId,
              cycle: held!.cycle,
            });
            const claimed = await w.store.save(withOwner(created, holder.pid!));

            const { summary, events } = await w.run(plan);
            expect(summary.runs.map((r) => r.status)).toEqual(['busy', 'done']);
            expect(summary.runs[0]!.error).toEqual(expect.any(String));
            expect(await w.measured()).toEqual([free!.experimentId]);
            expect(finalSteps(events, held!.experimentId).map((e) => e.step)).toEqual(['busy']);
            // Left as the other process holds it.
            expect(await w.store.load(held!.experimentId)).toEqual(claimed);
          } finally {
            holder.kill('SIGKILL');
          }
        });
      },
      timeout,
    );

    it(
      'a failing run is a failed entry, never a throw, and the other runs still run',
      async () => {
        const w = await world();
        await closing(w.llem, async () => {
          const plan = await w.plan({ sweep: { 'script.mode': ['fail', 'ok'] } });
          const [failing, ok] = plan.runs;
          const { summary, events } = await w.run(plan);
          expect(summary.interrupted).toBe(false);
          expect(summary.runs.map((r) => r.status)).toEqual(['failed', 'done']);
          expect(summary.runs[0]!.error).toMatch(/model failed to load/);
          expect(await w.measured()).toEqual([ok!.experimentId]);
          expect(await w.store.load(failing!.experimentId)).toMatchObject({ failed: true });
          expect(await w.store.load(ok!.experimentId)).toMatchObject({ phase: 'done', failed: false });
          expect(finalSteps(events, failing!.experimentId).map((e) => e.step)).toEqual(['failed']);
        });
      },
      timeout,
    );

    it(
      'an already-aborted signal ends the study interrupted and measures nothing',
      async () => {
        const w = await world();
        await closing(w.llem, async () => {
          const plan = await w.plan();
          const controller = new AbortController();
          controller.abort();
          const { summary } = await w.run(plan, { signal: controller.signal });
          expect(summary.interrupted).toBe(true);
          expect(summary.counts.done).toBe(0);
          for (const entry of summary.runs) expect(['not-run', 'interrupted']).toContain(entry.status);
          expect(await w.measured()).toEqual([]);
          for (const run of plan.runs)
            expect((await w.store.load(run.experimentId))?.phase ?? null).not.toBe('done');
        });
      },
      timeout,
    );
  });
}
