import { readFileSync } from 'node:fs';
import { ExperimentResultSchema, withSchedulerJob } from '@llem/core';
import { describe, expect, it } from 'vitest';
import { runStudyOnSlurm, SlurmCommands } from '../src/index.js';
import { echoStudy, planOf, scratch, studyOptions } from './helpers.js';

describe('runStudyOnSlurm on a real Slurm cluster', () => {
  const dir = scratch('study');

  it('runs 6 experiments x 2 cycles of the echo backend, one job each, and records the job ids', async () => {
    const plan = await planOf(echoStudy('echo-slurm'));
    const options = await studyOptions(dir);
    const summary = await runStudyOnSlurm(plan, options);
    expect(summary.counts, JSON.stringify(summary.runs.filter((r) => r.error))).toMatchObject({
      total: 12,
      done: 12,
      failed: 0,
    });
    const tokens = summary.runs.map(
      (r) =>
        ExperimentResultSchema.parse(JSON.parse(readFileSync(r.resultPath!, 'utf8'))).workload.output_tokens,
    );
    expect(tokens.sort((a, b) => a - b)).toEqual([2, 2, 4, 4, 6, 6, 8, 8, 10, 10, 12, 12]);
    const states = await options.store.list({ studyId: plan.studyId! });
    const jobIds = states.map((s) => s.scheduler?.jobId);
    expect(new Set(jobIds).size).toBe(12);
    for (const id of jobIds) expect(id).toMatch(/^\d+$/);
    // Slurm agrees: every job completed.
    const queue = await new SlurmCommands().squeue(jobIds as string[]);
    for (const id of jobIds) expect(queue.get(id!)?.state).toBe('COMPLETED');
    // And so does the completion log (sacct -c with jobcomp/filetxt: no slurmdbd here).
    const accounted = await new SlurmCommands().sacct(jobIds as string[]);
    for (const id of jobIds) expect(accounted.get(id!)).toMatchObject({ state: 'COMPLETED', exitCode: 0 });
    await options.store.close();
  });

  it('submits nothing on a rerun of a finished study', async () => {
    const plan = await planOf(echoStudy('echo-slurm'));
    const options = await studyOptions(dir);
    const summary = await runStudyOnSlurm(plan, options);
    expect(summary.counts).toMatchObject({ total: 12, reused: 12, done: 0 });
    await options.store.close();
  });

  it('a run whose recorded job left the queue unfinished is failed with the reason, then submitted again', async () => {
    const plan = await planOf(echoStudy('echo-vanished', { sweep: undefined, cycles: 1 }));
    const options = await studyOptions(dir);
    const run = plan.runs[0]!;
    // A job this cluster never ran (an earlier llem run recorded it; Slurm has since forgotten it).
    const created = await options.store.create(run.experimentId, run.configHash, {
      studyId: plan.studyId,
      cycle: 1,
    });
    await options.store.save(withSchedulerJob(created, { name: 'slurm', jobId: '999999' }));
    const summary = await runStudyOnSlurm(plan, options);
    expect(summary.warnings.join('\n')).toMatch(
      /Slurm job 999999 left the queue without llem recording a result/,
    );
    expect(summary.counts).toMatchObject({ total: 1, done: 1 });
    expect(await options.store.load(run.experimentId)).toMatchObject({
      phase: 'done',
      failed: false,
      attempt: 1,
      scheduler: { name: 'slurm', jobId: expect.stringMatching(/^\d+$/) },
    });
    await options.store.close();
  });
});
