import { resolve } from 'node:path';
import type { ExperimentState, PlannedRun } from '@llem/core';
import { claimRun } from '@llem/core/orchestration';
import { RESULT_FILE_NAME } from '@llem/core/results';
import type { SlurmStudyContext, SlurmStudyRecord } from './slurm-study.js';

/** A run this `llem run` now owns, to be submitted as a job. */
export interface ClaimedRun {
  run: PlannedRun;
  state: ExperimentState;
}

/**
 * Step 2a: claims each run to submit through the store, as any llem process claims a run (see
 * `claimRun`): a run another live process holds is `busy`, a committed result is adopted, a done
 * one (a lone experiment measured under another id) reused. Returns the runs now owned.
 */
export async function claimRuns(
  ctx: SlurmStudyContext,
  study: SlurmStudyRecord,
  runs: readonly PlannedRun[],
): Promise<ClaimedRun[]> {
  const claimed: ClaimedRun[] = [];
  for (const run of runs) {
    const claim = await claimRun(
      ctx.store,
      {
        experimentId: run.experimentId,
        configHash: run.configHash,
        studyId: ctx.plan.studyId,
        cycle: run.cycle,
        force: ctx.force,
        forceSince: ctx.startedUtc,
        reuseByHash: ctx.plan.kind === 'experiment',
        resultPath: resolve(ctx.studyDir, run.resultDirName, RESULT_FILE_NAME),
      },
      ctx.clock,
    );
    const entry = study.entry(run);
    if (claim.kind === 'busy') {
      Object.assign(entry, { status: 'busy', error: claim.reason, attempt: claim.state?.attempt ?? null });
      study.step(run, 'busy', claim.reason);
    } else if (claim.kind === 'adopted') {
      study.keep(run, claim.result);
      Object.assign(entry, { status: 'reused', attempt: claim.state.attempt, resultPath: claim.path });
      study.step(run, 'reused', claim.path);
    } else if (claim.kind === 'reused') {
      Object.assign(entry, { status: 'reused', attempt: claim.state.attempt });
      study.step(run, 'reused');
    } else claimed.push({ run, state: claim.state });
  }
  return claimed;
}
