import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Clock,
  isoUtc,
  type LaunchMode,
  type ProgressListener,
  type StateStore,
  type StudyPlan,
  type StudySummary,
  systemClock,
} from '@llem/core';
import { finishStudy, studyDirFor } from '@llem/core/orchestration';
import { cancelStudyJobs } from './cancel.js';
import { claimRuns } from './claim-runs.js';
import { followJobs } from './follow.js';
import type { SlurmJobShape } from './job-shape.js';
import { reconcile } from './reconcile.js';
import { assertSharedFilesystemSafe } from './shared-store.js';
import { SlurmCommands } from './slurm-commands.js';
import { SLURM_DIR_NAME, type SlurmStudyContext, SlurmStudyRecord } from './slurm-study.js';
import { submitHeld } from './submit.js';

export interface SlurmStudyOptions {
  store: StateStore;
  /** The store's name and directory, as `llem exec` on a compute node opens it. */
  storeLocation: { name: string; dir: string };
  /** Results root: the study writes into `<resultsDir>/<study-id>/`. Must be on the shared filesystem. */
  resultsDir: string;
  shape: SlurmJobShape;
  /** The argv that starts llem on a compute node, e.g. `['llem']`. `exec <file> --index i` follows. */
  llemCommand: readonly string[];
  /** Plugin modules the jobs load (absolute paths or package names). */
  plugins?: readonly string[];
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  launch?: LaunchMode;
  writeTable?: boolean;
  commands?: SlurmCommands;
  clock?: Clock;
  /** After Ctrl+C: how long cancelled jobs get before SIGKILL, and how long to wait for them at all. */
  cancelGraceMs?: number;
  cancelTimeoutMs?: number;
}

/**
 * Runs a study on Slurm: every experiment-cycle that is not done becomes a job running
 * `llem exec`, followed with squeue (and sacct) until it ends. Rerunning resubmits only what is
 * not done and adopts jobs that are still queued or running. Ctrl+C (the signal) cancels the
 * study's jobs and waits until Slurm shows them gone. Never throws for a failed run.
 *
 * The steps, one module each: reconcile (what is done, still in Slurm's hands, to submit),
 * claimRuns and submitHeld (claim, submit held, record the job ids, release), followJobs (until
 * every job ended, settling each), cancelStudyJobs (on interrupt), then finishStudy.
 */
export async function runStudyOnSlurm(plan: StudyPlan, options: SlurmStudyOptions): Promise<StudySummary> {
  const { signal } = options;
  const ctx = await openStudy(plan, options);
  const study = new SlurmStudyRecord(plan, options.onProgress);

  const toSubmit = await reconcile(ctx, study);
  if (toSubmit.length > 0 && !signal?.aborted)
    await submitHeld(ctx, study, await claimRuns(ctx, study, toSubmit));
  const interrupted = await followJobs(ctx, study, signal);
  if (interrupted)
    await cancelStudyJobs(ctx, study, {
      graceMs: options.cancelGraceMs,
      timeoutMs: options.cancelTimeoutMs,
    });

  return finishStudy({
    plan,
    studyDir: ctx.studyDir,
    startedUtc: ctx.startedUtc,
    finishedUtc: isoUtc(ctx.clock.now()),
    interrupted,
    entries: study.entries,
    results: study.results,
    warnings: study.warnings,
    writeTable: options.writeTable ?? true,
  });
}

/** Refuses a store the nodes could corrupt, makes the study's folders, and gathers the context. */
async function openStudy(plan: StudyPlan, options: SlurmStudyOptions): Promise<SlurmStudyContext> {
  const clock = options.clock ?? systemClock;
  assertSharedFilesystemSafe(options.storeLocation.name, options.store);
  const studyDir = studyDirFor(options.resultsDir, plan.studyId);
  const slurmDir = join(studyDir, SLURM_DIR_NAME);
  await mkdir(slurmDir, { recursive: true });
  return {
    plan,
    store: options.store,
    storeLocation: options.storeLocation,
    shape: options.shape,
    slurm: options.commands ?? new SlurmCommands(),
    clock,
    llemCommand: options.llemCommand,
    plugins: options.plugins ?? [],
    launch: options.launch,
    force: options.force ?? false,
    studyDir,
    slurmDir,
    startedUtc: isoUtc(clock.now()),
  };
}
