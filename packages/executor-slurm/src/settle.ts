import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Clock,
  type ExperimentResult,
  type ExperimentState,
  isComplete,
  isStateConflictError,
  markFailed,
  type StateStore,
  type StudyRunEntry,
} from '@llem/core';
import { adoptCommittedResult } from '@llem/core/orchestration';
import type { SlurmJobInfo } from './slurm-commands.js';
import {
  committedResult,
  resultPathOf,
  SLURM_DIR_NAME,
  type SlurmStudyContext,
  type Tracked,
} from './slurm-study.js';

/**
 * Settling a run whose job ended (or left the queue): what llem recorded on the state decides;
 * a job that ended without llem finishing its run is failed with the reason Slurm gives.
 */

export interface Settled {
  /** What goes into the run's summary entry. */
  fields: Partial<StudyRunEntry>;
  result: ExperimentResult | null;
}

type SettleContext = Pick<SlurmStudyContext, 'store' | 'clock' | 'studyDir'>;

/** A job left the queue (or ended): what llem recorded decides; else Slurm's reason fails it. */
export async function settle(
  t: Pick<Tracked, 'run' | 'jobId'>,
  job: SlurmJobInfo | null,
  ctx: SettleContext,
): Promise<Settled> {
  let state = await ctx.store.load(t.run.experimentId);
  // A job that exited 0 finished its run: on NFS the node's last write can take a moment to show.
  for (let i = 0; i < 5 && job?.state === 'COMPLETED' && state && !state.failed && !isComplete(state); i++) {
    await new Promise((r) => setTimeout(r, 1000));
    state = await ctx.store.load(t.run.experimentId);
  }
  if (state && isComplete(state)) {
    const resultPath = resultPathOf(ctx, t.run);
    const result = await committedResult(resultPath);
    return {
      fields: { status: 'done', attempt: state.attempt, resultPath: result ? resultPath : null, error: null },
      result,
    };
  }
  if (state && !isComplete(state)) {
    // The job committed its result but died before saving done: adopt it, never redo it.
    const adoption = await adoptCommittedResult(ctx.store, state, ctx.clock).catch(() => null);
    if (adoption?.kind === 'adopted')
      return {
        fields: { status: 'done', attempt: adoption.state.attempt, resultPath: adoption.path, error: null },
        result: adoption.result,
      };
  }
  if (state?.failed) {
    // llem on the node only saw a SIGTERM: Slurm knows why (scancel, time limit, preemption).
    if (state.failureKind === 'interrupted' && job && job.state !== 'COMPLETED') {
      const saved = await ctx.store
        .save(markFailed(state, slurmReason(t.jobId, job), 'error', ctx.clock))
        .catch(() => state);
      return {
        fields: { status: 'failed', attempt: saved.attempt, error: saved.errorMessage },
        result: null,
      };
    }
    return { fields: { status: 'failed', attempt: state.attempt, error: state.errorMessage }, result: null };
  }
  const output = await tailOf(join(ctx.studyDir, SLURM_DIR_NAME, `${t.jobId}.out`), 3);
  const reason = slurmReason(t.jobId, job) + (output ? ` Job output ends: ${output}` : '');
  const saved = await recordFailure(ctx.store, t.run.experimentId, reason, 'error', ctx.clock);
  // Done meanwhile, or failed now: settling again adopts a result the job committed before it died.
  if (saved && (isComplete(saved) || saved.failed)) return settle(t, job, ctx);
  return {
    fields: { status: 'failed', attempt: saved?.attempt ?? null, error: saved?.errorMessage ?? reason },
    result: null,
  };
}

const STATE_HINTS: Record<string, string> = {
  CANCELLED: 'cancelled by scancel or an administrator',
  TIMEOUT: 'it reached its time limit (raise --time)',
  OUT_OF_MEMORY: 'it ran out of memory (raise --mem)',
  NODE_FAIL: 'its node failed',
  PREEMPTED: 'it was preempted',
  BOOT_FAIL: 'its node failed to boot',
  DEADLINE: 'it missed its deadline',
};

/** Why a job ended without llem finishing its experiment, in Slurm's words. */
export function slurmReason(jobId: string, job: SlurmJobInfo | null): string {
  if (!job)
    return `Slurm job ${jobId} left the queue without llem recording a result (no accounting record says why).`;
  if (job.state === 'PENDING')
    return `Slurm job ${jobId} could never start (${job.reason ?? 'no reason given'}); llem cancelled it.`;
  const how =
    job.signal !== null ? `signal ${job.signal}` : job.exitCode ? `exit code ${job.exitCode}` : null;
  const hint = STATE_HINTS[job.state.split(' ')[0]!];
  return `Slurm job ${jobId} ended ${job.state}${job.reason ? ` (${job.reason})` : ''}${how ? `, ${how}` : ''}${hint ? `: ${hint}` : ''} before llem recorded a result.`;
}

/** Marks an unfinished state failed (re-reading it once if the job wrote meanwhile). */
export async function recordFailure(
  store: StateStore,
  experimentId: string,
  message: string,
  kind: 'error' | 'interrupted',
  clock: Clock,
): Promise<ExperimentState | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const state = await store.load(experimentId);
    if (!state || state.failed || state.phase === 'done') return state;
    try {
      return await store.save(markFailed(state, message, kind, clock));
    } catch (error) {
      if (!isStateConflictError(error)) throw error;
    }
  }
  return store.load(experimentId);
}

/** The last lines of a job's output file, joined with ' | ' (empty when it cannot be read). */
async function tailOf(path: string, lines: number): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.trim().split('\n').slice(-lines).join(' | ').slice(-600);
  } catch {
    return '';
  }
}
