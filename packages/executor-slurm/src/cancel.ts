import { isComplete } from '@llem/core';
import { recordFailure } from './settle.js';
import type { SlurmStudyContext, SlurmStudyRecord } from './slurm-study.js';

export interface CancelOptions {
  /** How long cancelled jobs get before SIGKILL (default 10 s). */
  graceMs?: number;
  /** How long to wait for Slurm to show them all ended (default 60 s). */
  timeoutMs?: number;
}

/**
 * Step 4, on interrupt: cancels every job the study still follows, checks with squeue that Slurm
 * shows them ended (a warning names any that are not), and marks their runs interrupted (or done,
 * when a job finished its run before the cancel reached it).
 */
export async function cancelStudyJobs(
  ctx: SlurmStudyContext,
  study: SlurmStudyRecord,
  options: CancelOptions = {},
): Promise<void> {
  const ids = [...study.tracked.values()].map((t) => t.jobId);
  const left = await ctx.slurm.cancel(ids, {
    graceMs: options.graceMs ?? 10_000,
    timeoutMs: options.timeoutMs ?? 60_000,
  });
  if (left.length > 0) study.warnings.push(`Slurm jobs still active after scancel: ${left.join(', ')}`);
  for (const t of study.tracked.values()) {
    const state = await recordFailure(
      ctx.store,
      t.run.experimentId,
      `interrupted: Slurm job ${t.jobId} cancelled`,
      'interrupted',
      ctx.clock,
    );
    Object.assign(t.entry, {
      status: state && isComplete(state) ? 'done' : 'interrupted',
      error: state && isComplete(state) ? null : 'interrupted',
      attempt: state?.attempt ?? null,
    });
    study.step(t.run, 'interrupted');
  }
}
