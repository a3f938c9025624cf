import { type ExperimentState, isComplete, type PlannedRun } from '@llem/core';
import { forces } from '@llem/core/orchestration';
import { settle } from './settle.js';
import { isActiveState } from './slurm-commands.js';
import {
  committedResult,
  resultPathOf,
  type SlurmStudyContext,
  type SlurmStudyRecord,
} from './slurm-study.js';

/**
 * Step 1 of a study on Slurm: what is done, what is still in Slurm's hands, what must be
 * submitted. Done runs are reused (their results handed over); a run whose recorded job Slurm
 * still has is followed, never resubmitted; a run whose job ended while no llem followed it is
 * settled now (done, or failed with Slurm's reason and submitted again). Returns the runs to
 * submit, in plan order.
 */
export async function reconcile(ctx: SlurmStudyContext, study: SlurmStudyRecord): Promise<PlannedRun[]> {
  const { plan, store, slurm } = ctx;
  const states = await Promise.all(plan.runs.map((run) => store.load(run.experimentId)));
  const recorded = states.flatMap((s) => (s && inSlurm(s) ? [s.scheduler!.jobId] : []));
  const queue = await slurm.squeue(recorded);
  const toSubmit: PlannedRun[] = [];
  for (const run of plan.runs) {
    const state = states[run.position];
    const entry = study.entry(run);
    if (state && isComplete(state) && !forces({ force: ctx.force, forceSince: ctx.startedUtc }, state)) {
      const resultPath = resultPathOf(ctx, run);
      const result = await committedResult(resultPath);
      study.keep(run, result);
      Object.assign(entry, {
        status: 'reused',
        attempt: state.attempt,
        resultPath: result ? resultPath : null,
      });
      study.step(run, 'reused', result ? resultPath : undefined);
    } else if (state && inSlurm(state)) {
      const jobId = state.scheduler!.jobId;
      const job = queue.get(jobId);
      if (job && isActiveState(job.state)) {
        // Submitted by an earlier `llem run`: never resubmitted while Slurm still has it.
        study.track(run, jobId);
        study.step(run, 'launching', `following Slurm job ${jobId} (${job.state})`);
        continue;
      }
      // It ended while no llem followed it: settle it now with Slurm's reason, then redo it if not done.
      const ended = job ?? (await slurm.sacct([jobId])).get(jobId) ?? null;
      const outcome = await settle({ run, jobId }, ended, ctx);
      if (outcome.fields.status === 'done') {
        study.keep(run, outcome.result);
        Object.assign(entry, outcome.fields, { status: 'reused' });
        study.step(run, 'reused', outcome.fields.resultPath ?? undefined);
      } else {
        study.warnings.push(
          `${run.experimentId}: ${outcome.fields.error ?? `Slurm job ${jobId} ended`} Submitting it again.`,
        );
        toSubmit.push(run);
      }
    } else toSubmit.push(run);
  }
  return toSubmit;
}

/** An unfinished state submitted to Slurm: Slurm says whether it is alive. */
export function inSlurm(state: ExperimentState): boolean {
  return state.scheduler?.name === 'slurm' && !state.failed && state.phase !== 'done';
}
