import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isoUtc, markFailed, messageOf, withSchedulerJob } from '@llem/core';
import type { ClaimedRun } from './claim-runs.js';
import { type ExecFile, type ExecRun, writeExecFile } from './exec-file.js';
import { batchScript, sbatchOptions } from './job-shape.js';
import type { SlurmStudyContext, SlurmStudyRecord } from './slurm-study.js';

/** One claimed run after submission: its job id, or why Slurm refused it. */
export interface Submission extends ClaimedRun {
  jobId: string | null;
  error: string | null;
}

/**
 * Step 2b: submits the claimed runs held (so no job starts before its id is recorded), records
 * each job id on its run's state, then releases them. A run Slurm refuses is failed with sbatch's
 * words; the others are followed from here on.
 */
export async function submitHeld(
  ctx: SlurmStudyContext,
  study: SlurmStudyRecord,
  claimed: readonly ClaimedRun[],
): Promise<void> {
  if (claimed.length === 0) return;
  const jobs = await submit(ctx, claimed);
  await recordAndRelease(ctx, jobs);
  for (const { run, jobId, error } of jobs) {
    if (jobId) {
      study.track(run, jobId);
      study.step(run, 'launching', `Slurm job ${jobId} submitted`);
    } else {
      Object.assign(study.entry(run), { status: 'failed', error });
      study.step(run, 'failed', error ?? undefined);
    }
  }
}

/**
 * Writes the exec file (which runs; where the store and results are) and the batch script, asks
 * `sbatch --test-only` whether Slurm would ever run such a job, then submits one held job per
 * run (`--index i`) or one held array.
 */
async function submit(ctx: SlurmStudyContext, claimed: readonly ClaimedRun[]): Promise<Submission[]> {
  const { plan, slurm, shape } = ctx;
  const stamp = `${isoUtc(ctx.clock.now()).replace(/[:.]/g, '-')}-${process.pid}`;
  const execPath = join(ctx.slurmDir, `exec-${stamp}.json`);
  const scriptPath = join(ctx.slurmDir, `job-${stamp}.sh`);
  await writeExecFile(execPath, execFileFor(ctx, claimed));
  await writeFile(scriptPath, batchScript(shape), { mode: 0o755 });
  const name = `llem-${(plan.studyId ?? claimed[0]!.run.experimentId).slice(0, 40)}`;
  const common = ['--hold', `--job-name=${name}`, ...sbatchOptions(shape)];
  const command = [...ctx.llemCommand, 'exec', execPath];

  const jobs: Submission[] = [];
  const arrayOption = `--array=0-${claimed.length - 1}${shape.array_limit ? `%${shape.array_limit}` : ''}`;
  let refused: string | null = null;
  try {
    await slurm.testOnly([...common.slice(1), ...(shape.array ? [arrayOption] : []), scriptPath, ...command]);
  } catch (error) {
    refused = messageOf(error);
  }
  if (refused !== null) for (const c of claimed) jobs.push({ ...c, jobId: null, error: refused });
  else if (shape.array) {
    try {
      const base = await slurm.sbatch([
        ...common,
        arrayOption,
        `--output=${join(ctx.slurmDir, '%A_%a.out')}`,
        scriptPath,
        ...command,
      ]);
      for (const [i, c] of claimed.entries()) jobs.push({ ...c, jobId: `${base}_${i}`, error: null });
    } catch (error) {
      for (const c of claimed) jobs.push({ ...c, jobId: null, error: messageOf(error) });
    }
  } else {
    for (const [i, c] of claimed.entries()) {
      try {
        const jobId = await slurm.sbatch([
          ...common,
          `--output=${join(ctx.slurmDir, '%j.out')}`,
          scriptPath,
          ...command,
          '--index',
          String(i),
        ]);
        jobs.push({ ...c, jobId, error: null });
      } catch (error) {
        jobs.push({ ...c, jobId: null, error: messageOf(error) });
      }
    }
  }
  return jobs;
}

/** The manifest `llem exec` reads on a node: job `i` (or array task `i`) runs `runs[i]`. */
function execFileFor(ctx: SlurmStudyContext, claimed: readonly ClaimedRun[]): ExecFile {
  return {
    schema: 'llem.slurm-exec/1',
    executor: 'slurm',
    studyId: ctx.plan.studyId,
    outputDir: ctx.studyDir,
    store: ctx.storeLocation,
    launch: ctx.launch ?? null,
    plugins: [...ctx.plugins],
    runs: claimed.map(
      ({ run }): ExecRun => ({
        experimentId: run.experimentId,
        configHash: run.configHash,
        cycle: run.cycle,
        resultDirName: run.resultDirName,
        config: ctx.plan.experiments[run.experimentIndex]!.config,
      }),
    ),
  };
}

/** Records each job id on its state (a refused run is failed), then releases the held jobs. */
async function recordAndRelease(ctx: SlurmStudyContext, jobs: readonly Submission[]): Promise<void> {
  const release: string[] = [];
  for (const job of jobs) {
    if (job.jobId) {
      await ctx.store.save(withSchedulerJob(job.state, { name: 'slurm', jobId: job.jobId }, ctx.clock));
      release.push(job.jobId);
    } else {
      await ctx.store.save(markFailed(job.state, job.error ?? 'not submitted', 'error', ctx.clock));
    }
  }
  // An array is released as one job.
  await ctx.slurm.release(ctx.shape.array ? [...new Set(release.map((id) => id.split('_')[0]!))] : release);
}
