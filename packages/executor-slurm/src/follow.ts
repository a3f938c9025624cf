import { messageOf, type RunStep } from '@llem/core';
import { interruptibleSleep } from '@llem/core/orchestration';
import { settle } from './settle.js';
import { HOPELESS_PENDING_REASONS, isActiveState, type SlurmJobInfo } from './slurm-commands.js';
import type { SlurmStudyContext, SlurmStudyRecord, Tracked } from './slurm-study.js';

/** Consecutive failed squeue calls after which following gives up (the jobs keep running). */
const MAX_QUERY_FAILURES = 20;

/**
 * Step 3: follows the study's jobs with squeue every `poll_seconds` until every one has ended,
 * settling each as it ends (a pending job that can never start is cancelled and failed). Stops
 * early when the signal fires; returns whether it did (the jobs still followed are then
 * cancelled by `cancelStudyJobs`).
 */
export async function followJobs(
  ctx: SlurmStudyContext,
  study: SlurmStudyRecord,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const { slurm, shape } = ctx;
  const { tracked } = study;
  let interrupted = signal?.aborted ?? false;
  const pollMs = shape.poll_seconds * 1000;
  let queryFailures = 0;
  while (tracked.size > 0 && !interrupted) {
    const ids = [...tracked.values()].map((t) => t.jobId);
    let now: Map<string, SlurmJobInfo>;
    try {
      now = await slurm.squeue(ids);
      queryFailures = 0;
    } catch (error) {
      // A controller restart or failover is not the jobs' end: keep asking for a while.
      if (++queryFailures >= MAX_QUERY_FAILURES) throw error;
      study.warnings.push(`squeue failed (${messageOf(error)}); retrying.`);
      await interruptibleSleep(pollMs, signal);
      interrupted = signal?.aborted ?? false;
      continue;
    }
    const ended: [Tracked, SlurmJobInfo | null][] = [];
    for (const t of tracked.values()) {
      const job = now.get(t.jobId) ?? null;
      if (job && job.state === 'PENDING' && HOPELESS_PENDING_REASONS.includes(job.reason ?? '')) {
        await slurm.cancel([t.jobId], { timeoutMs: 10_000 });
        ended.push([t, job]);
      } else if (job && isActiveState(job.state)) {
        if (job.state !== t.lastState && job.state === 'RUNNING') {
          t.t0 = Date.now();
          study.step(t.run, 'measuring', `Slurm job ${t.jobId} running`);
        }
        t.lastState = job.state;
      } else ended.push([t, job]);
    }
    const vanished = ended.filter(([, job]) => job === null).map(([t]) => t.jobId);
    const accounted = await slurm.sacct(vanished);
    for (const [t, job] of ended) {
      const outcome = await settle(t, job ?? accounted.get(t.jobId) ?? null, ctx);
      Object.assign(t.entry, outcome.fields, { durationS: (Date.now() - t.t0) / 1000 });
      study.keep(t.run, outcome.result);
      study.step(t.run, t.entry.status as RunStep, (t.entry.resultPath ?? t.entry.error) || undefined);
      tracked.delete(t.run.experimentId);
    }
    if (tracked.size > 0) await interruptibleSleep(pollMs, signal);
    interrupted = signal?.aborted ?? false;
  }
  return interrupted;
}
