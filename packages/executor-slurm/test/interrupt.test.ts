import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProgressEvent } from '@llem/core';
import { describe, expect, it } from 'vitest';
import { isActiveState, runStudyOnSlurm, SlurmCommands } from '../src/index.js';
import { echoStudy, planOf, scratch, studyOptions } from './helpers.js';

const slurm = new SlurmCommands();

/** A quick experiment (0.1 s) and a slow one (6 s), 2 cycles each. */
const mixed = (name: string) =>
  echoStudy(name, {
    sweep: { 'echo.seconds_per_request': [0.05, 3] },
    echo: {},
  });

describe('stopping a study on Slurm', () => {
  const dir = scratch('interrupt');

  it('Ctrl+C cancels every job of the study, checks Slurm shows them ended, and marks them interrupted', async () => {
    const plan = await planOf(mixed('echo-stop'));
    const options = await studyOptions(dir);
    const controller = new AbortController();
    const done = new Set<string>();
    const running = new Set<string>();
    const slow = new Set(plan.runs.filter((r) => r.experimentIndex === 1).map((r) => r.experimentId));
    const summary = await runStudyOnSlurm(plan, {
      ...options,
      signal: controller.signal,
      onProgress: (event: ProgressEvent) => {
        if (event.type !== 'step') return;
        if (event.step === 'done') done.add(event.experimentId);
        if (event.step === 'measuring' && slow.has(event.experimentId)) running.add(event.experimentId);
        // Stop once the quick runs are done and a slow one is running.
        if (done.size === 2 && running.size > 0) controller.abort();
      },
    });
    expect(summary.interrupted).toBe(true);
    expect(summary.counts).toMatchObject({ total: 4, done: 2, interrupted: 2 });
    const states = await options.store.list({ studyId: plan.studyId! });
    const stopped = states.filter((s) => slow.has(s.experimentId));
    expect(stopped).toHaveLength(2);
    for (const state of stopped) expect(state).toMatchObject({ failed: true, failureKind: 'interrupted' });
    const queue = await slurm.squeue(stopped.map((s) => s.scheduler!.jobId));
    for (const state of stopped) {
      const job = queue.get(state.scheduler!.jobId);
      expect(job && isActiveState(job.state)).toBe(false);
    }
    await options.store.close();
  });

  it('a rerun submits only the work that is not done', async () => {
    const plan = await planOf(mixed('echo-stop'));
    const options = await studyOptions(dir);
    const before = new Map((await options.store.list()).map((s) => [s.experimentId, s.scheduler?.jobId]));
    const summary = await runStudyOnSlurm(plan, options);
    expect(summary.counts).toMatchObject({ total: 4, reused: 2, done: 2, failed: 0 });
    for (const state of await options.store.list({ studyId: plan.studyId! })) {
      const reused = summary.runs.find((r) => r.experimentId === state.experimentId)!.status === 'reused';
      // Reused runs keep their job; resubmitted ones have a new one.
      if (reused) expect(state.scheduler?.jobId).toBe(before.get(state.experimentId));
      else expect(state.scheduler?.jobId).not.toBe(before.get(state.experimentId));
    }
    await options.store.close();
  });

  it('a job cancelled from outside with scancel is reported failed with the reason Slurm gives', async () => {
    const plan = await planOf(
      echoStudy('echo-scancel', { sweep: undefined, cycles: 1, echo: { seconds_per_request: 3 } }),
    );
    const options = await studyOptions(dir);
    const summary = await runStudyOnSlurm(plan, {
      ...options,
      onProgress: (event) => {
        const id =
          event.type === 'step' && event.step === 'measuring'
            ? /job (\S+)/.exec(event.detail ?? '')?.[1]
            : undefined;
        if (id) execFileSync('scancel', [id]);
      },
    });
    expect(summary.counts).toMatchObject({ total: 1, failed: 1 });
    expect(summary.runs[0]!.error).toMatch(/Slurm job \d+ ended CANCELLED.*cancelled by scancel/);
    const [state] = await options.store.list({ studyId: plan.studyId! });
    expect(state).toMatchObject({ failed: true, errorMessage: summary.runs[0]!.error });
    await options.store.close();
  });

  it('a rerun never resubmits a run whose job is still queued or running (the first submitter was killed)', async () => {
    const plan = await planOf(mixed('echo-adopt'));
    const options = await studyOptions(dir);
    const studyFile = join(dir, 'adopt-study.json');
    const optionsFile = join(dir, 'adopt-options.json');
    writeFileSync(studyFile, JSON.stringify(mixed('echo-adopt')));
    const { store, ...plain } = options;
    writeFileSync(optionsFile, JSON.stringify(plain));
    const submitter = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./fixtures/submit-study.ts', import.meta.url)),
        studyFile,
        optionsFile,
      ],
      { stdio: 'ignore', env: process.env },
    );
    // Wait until all four jobs are recorded, then kill the submitter outright: its jobs stay queued.
    let ids: string[] = [];
    for (let i = 0; i < 300 && ids.length < 4; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ids = (await store.list({ studyId: plan.studyId! })).flatMap((s) =>
        s.scheduler ? [s.scheduler.jobId] : [],
      );
    }
    submitter.kill('SIGKILL');
    expect(ids).toHaveLength(4);
    const queued = await slurm.squeue(ids);
    expect([...queued.values()].some((j) => isActiveState(j.state))).toBe(true);

    const summary = await runStudyOnSlurm(plan, options);
    expect(summary.counts).toMatchObject({ total: 4, failed: 0 });
    expect(summary.counts.done + summary.counts.reused).toBe(4);
    const after = (await store.list({ studyId: plan.studyId! })).map((s) => s.scheduler?.jobId);
    expect(after.sort()).toEqual([...ids].sort());
    await store.close();
  });
});
