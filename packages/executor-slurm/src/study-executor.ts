import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type Clock,
  type ExperimentResult,
  ExperimentResultSchema,
  type ExperimentState,
  isComplete,
  isoUtc,
  isStateConflictError,
  type LaunchMode,
  markFailed,
  messageOf,
  type PlannedRun,
  type ProgressListener,
  type RunStep,
  type StateStore,
  type StudyPlan,
  type StudyRunEntry,
  type StudySummary,
  systemClock,
  withSchedulerJob,
} from '@llem/core';
import {
  adoptCommittedResult,
  claimRun,
  emitProgress,
  finishStudy,
  forces,
  interruptibleSleep,
  notRunEntries,
  studyDirFor,
} from '@llem/core/orchestration';
import { RESULT_FILE_NAME } from '@llem/core/results';
import { type ExecFile, type ExecRun, writeExecFile } from './exec-file.js';
import { batchScript, type SlurmJobShape, sbatchOptions } from './job-shape.js';
import { assertSharedFilesystemSafe } from './shared-store.js';
import {
  HOPELESS_PENDING_REASONS,
  isActiveState,
  SlurmCommands,
  type SlurmJobInfo,
} from './slurm-commands.js';

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

/** Consecutive failed squeue calls after which following gives up (the jobs keep running). */
const MAX_QUERY_FAILURES = 20;

/** Where the submitter keeps exec files, the batch script and the jobs' output (under the study dir). */
export const SLURM_DIR_NAME = '.llem-slurm';

interface Tracked {
  run: PlannedRun;
  entry: StudyRunEntry;
  jobId: string;
  lastState: string | null;
  t0: number;
}

/**
 * Runs a study on Slurm: every experiment-cycle that is not done becomes a job running
 * `llem exec`, followed with squeue (and sacct) until it ends. Rerunning resubmits only what is
 * not done and adopts jobs that are still queued or running. Ctrl+C (the signal) cancels the
 * study's jobs and waits until Slurm shows them gone. Never throws for a failed run.
 */
export async function runStudyOnSlurm(plan: StudyPlan, options: SlurmStudyOptions): Promise<StudySummary> {
  const { store, shape, signal, onProgress } = options;
  const clock = options.clock ?? systemClock;
  const slurm = options.commands ?? new SlurmCommands();
  assertSharedFilesystemSafe(options.storeLocation.name, store);
  const studyDir = studyDirFor(options.resultsDir, plan.studyId);
  const slurmDir = join(studyDir, SLURM_DIR_NAME);
  await mkdir(slurmDir, { recursive: true });
  const startedUtc = isoUtc(clock.now());
  const warnings: string[] = [];
  const step = (run: PlannedRun, name: RunStep, detail?: string) =>
    emitProgress(onProgress, { type: 'step', experimentId: run.experimentId, step: name, detail });
  const entries = notRunEntries(plan);
  const results: ExperimentResult[] = [];
  // Each result goes into the tables and, in memory, to whoever follows the progress.
  const keep = (run: PlannedRun, result: ExperimentResult | null) => {
    if (!result) return;
    results.push(result);
    emitProgress(onProgress, { type: 'result', experimentId: run.experimentId, result });
  };
  const tracked = new Map<string, Tracked>();
  const track = (run: PlannedRun, jobId: string) => {
    tracked.set(run.experimentId, {
      run,
      entry: entries[run.position]!,
      jobId,
      lastState: null,
      t0: Date.now(),
    });
    emitProgress(onProgress, {
      type: 'run-start',
      experimentId: run.experimentId,
      position: run.position,
      total: plan.runs.length,
      label: entries[run.position]!.label,
      cycle: run.cycle,
    });
  };

  // 1. What is done, what is still in Slurm's hands, what must be submitted.
  const states = await Promise.all(plan.runs.map((run) => store.load(run.experimentId)));
  const recorded = states.flatMap((s) => (s && inSlurm(s) ? [s.scheduler!.jobId] : []));
  const queue = await slurm.squeue(recorded);
  const toSubmit: PlannedRun[] = [];
  for (const run of plan.runs) {
    const state = states[run.position];
    const entry = entries[run.position]!;
    if (
      state &&
      isComplete(state) &&
      !forces({ force: options.force ?? false, forceSince: startedUtc }, state)
    ) {
      const resultPath = join(studyDir, run.resultDirName, RESULT_FILE_NAME);
      const result = await readResult(resultPath);
      keep(run, result);
      Object.assign(entry, {
        status: 'reused',
        attempt: state.attempt,
        resultPath: result ? resultPath : null,
      });
      step(run, 'reused', result ? resultPath : undefined);
    } else if (state && inSlurm(state)) {
      const jobId = state.scheduler!.jobId;
      const job = queue.get(jobId);
      if (job && isActiveState(job.state)) {
        // Submitted by an earlier `llem run`: never resubmitted while Slurm still has it.
        track(run, jobId);
        step(run, 'launching', `following Slurm job ${jobId} (${job.state})`);
        continue;
      }
      // It ended while no llem followed it: settle it now with Slurm's reason, then redo it if not done.
      const ended = job ?? (await slurm.sacct([jobId])).get(jobId) ?? null;
      const past: Tracked = { run, entry: { ...entry }, jobId, lastState: null, t0: Date.now() };
      const outcome = await settle(past, ended, { store, clock, studyDir });
      if (outcome.fields.status === 'done') {
        keep(run, outcome.result);
        Object.assign(entry, outcome.fields, { status: 'reused' });
        step(run, 'reused', outcome.fields.resultPath ?? undefined);
      } else {
        warnings.push(
          `${run.experimentId}: ${outcome.fields.error ?? `Slurm job ${jobId} ended`} Submitting it again.`,
        );
        toSubmit.push(run);
      }
    } else toSubmit.push(run);
  }

  // 2. Claim and submit (held, so no job starts before its id is recorded), then release.
  if (toSubmit.length > 0 && !signal?.aborted) {
    const claimed: { run: PlannedRun; state: ExperimentState }[] = [];
    for (const run of toSubmit) {
      const claim = await claimRun(
        store,
        {
          experimentId: run.experimentId,
          configHash: run.configHash,
          studyId: plan.studyId,
          cycle: run.cycle,
          force: options.force ?? false,
          forceSince: startedUtc,
          reuseByHash: plan.kind === 'experiment',
          resultPath: resolve(studyDir, run.resultDirName, RESULT_FILE_NAME),
        },
        clock,
      );
      const entry = entries[run.position]!;
      if (claim.kind === 'busy') {
        Object.assign(entry, { status: 'busy', error: claim.reason, attempt: claim.state?.attempt ?? null });
        step(run, 'busy', claim.reason);
      } else if (claim.kind === 'adopted') {
        keep(run, claim.result);
        Object.assign(entry, { status: 'reused', attempt: claim.state.attempt, resultPath: claim.path });
        step(run, 'reused', claim.path);
      } else if (claim.kind === 'reused') {
        Object.assign(entry, { status: 'reused', attempt: claim.state.attempt });
        step(run, 'reused');
      } else claimed.push({ run, state: claim.state });
    }
    const submitted = await submit(plan, claimed, { ...options, slurm, slurmDir, studyDir, clock });
    for (const { run, jobId, error } of submitted) {
      if (jobId) {
        track(run, jobId);
        step(run, 'launching', `Slurm job ${jobId} submitted`);
      } else {
        Object.assign(entries[run.position]!, { status: 'failed', error });
        step(run, 'failed', error ?? undefined);
      }
    }
  }

  // 3. Follow until every job has ended; Ctrl+C cancels them all.
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
      warnings.push(`squeue failed (${messageOf(error)}); retrying.`);
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
          step(t.run, 'measuring', `Slurm job ${t.jobId} running`);
        }
        t.lastState = job.state;
      } else ended.push([t, job]);
    }
    const vanished = ended.filter(([, job]) => job === null).map(([t]) => t.jobId);
    const accounted = await slurm.sacct(vanished);
    for (const [t, job] of ended) {
      const outcome = await settle(t, job ?? accounted.get(t.jobId) ?? null, { store, clock, studyDir });
      Object.assign(t.entry, outcome.fields, { durationS: (Date.now() - t.t0) / 1000 });
      keep(t.run, outcome.result);
      step(t.run, t.entry.status as RunStep, (t.entry.resultPath ?? t.entry.error) || undefined);
      tracked.delete(t.run.experimentId);
    }
    if (tracked.size > 0) await interruptibleSleep(pollMs, signal);
    interrupted = signal?.aborted ?? false;
  }

  if (interrupted) {
    const ids = [...tracked.values()].map((t) => t.jobId);
    const left = await slurm.cancel(ids, {
      graceMs: options.cancelGraceMs ?? 10_000,
      timeoutMs: options.cancelTimeoutMs ?? 60_000,
    });
    if (left.length > 0) warnings.push(`Slurm jobs still active after scancel: ${left.join(', ')}`);
    for (const t of tracked.values()) {
      const state = await recordFailure(
        store,
        t.run.experimentId,
        `interrupted: Slurm job ${t.jobId} cancelled`,
        'interrupted',
        clock,
      );
      Object.assign(t.entry, {
        status: state && isComplete(state) ? 'done' : 'interrupted',
        error: state && isComplete(state) ? null : 'interrupted',
        attempt: state?.attempt ?? null,
      });
      step(t.run, 'interrupted');
    }
  }

  return finishStudy({
    plan,
    studyDir,
    startedUtc,
    finishedUtc: isoUtc(clock.now()),
    interrupted,
    entries,
    results,
    warnings,
    writeTable: options.writeTable ?? true,
  });
}

/** An unfinished state submitted to Slurm: Slurm says whether it is alive. */
function inSlurm(state: ExperimentState): boolean {
  return state.scheduler?.name === 'slurm' && !state.failed && state.phase !== 'done';
}

interface SubmitContext extends SlurmStudyOptions {
  slurm: SlurmCommands;
  slurmDir: string;
  studyDir: string;
  clock: Clock;
}

/** Submits the claimed runs held, records each job id on its state, then releases them. */
async function submit(
  plan: StudyPlan,
  claimed: readonly { run: PlannedRun; state: ExperimentState }[],
  ctx: SubmitContext,
): Promise<{ run: PlannedRun; jobId: string | null; error: string | null }[]> {
  if (claimed.length === 0) return [];
  const stamp = `${isoUtc(ctx.clock.now()).replace(/[:.]/g, '-')}-${process.pid}`;
  const execPath = join(ctx.slurmDir, `exec-${stamp}.json`);
  const scriptPath = join(ctx.slurmDir, `job-${stamp}.sh`);
  const execFile: ExecFile = {
    schema: 'llem.slurm-exec/1',
    executor: 'slurm',
    studyId: plan.studyId,
    outputDir: ctx.studyDir,
    store: ctx.storeLocation,
    launch: ctx.launch ?? null,
    plugins: [...(ctx.plugins ?? [])],
    runs: claimed.map(
      ({ run }): ExecRun => ({
        experimentId: run.experimentId,
        configHash: run.configHash,
        cycle: run.cycle,
        resultDirName: run.resultDirName,
        config: plan.experiments[run.experimentIndex]!.config,
      }),
    ),
  };
  await writeExecFile(execPath, execFile);
  await writeFile(scriptPath, batchScript(ctx.shape), { mode: 0o755 });
  const name = `llem-${(plan.studyId ?? claimed[0]!.run.experimentId).slice(0, 40)}`;
  const common = ['--hold', `--job-name=${name}`, ...sbatchOptions(ctx.shape)];
  const command = [...ctx.llemCommand, 'exec', execPath];

  const jobs: { run: PlannedRun; state: ExperimentState; jobId: string | null; error: string | null }[] = [];
  const arrayOption = `--array=0-${claimed.length - 1}${ctx.shape.array_limit ? `%${ctx.shape.array_limit}` : ''}`;
  let refused: string | null = null;
  try {
    await ctx.slurm.testOnly([
      ...common.slice(1),
      ...(ctx.shape.array ? [arrayOption] : []),
      scriptPath,
      ...command,
    ]);
  } catch (error) {
    refused = messageOf(error);
  }
  if (refused !== null) for (const c of claimed) jobs.push({ ...c, jobId: null, error: refused });
  else if (ctx.shape.array) {
    try {
      const base = await ctx.slurm.sbatch([
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
        const jobId = await ctx.slurm.sbatch([
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
  return jobs.map(({ run, jobId, error }) => ({ run, jobId, error }));
}

/** A job left the queue (or ended): what llem recorded decides; else Slurm's reason fails it. */
async function settle(
  t: Tracked,
  job: SlurmJobInfo | null,
  ctx: { store: StateStore; clock: Clock; studyDir: string },
): Promise<{ fields: Partial<StudyRunEntry>; result: ExperimentResult | null }> {
  let state = await ctx.store.load(t.run.experimentId);
  // A job that exited 0 finished its run: on NFS the node's last write can take a moment to show.
  for (let i = 0; i < 5 && job?.state === 'COMPLETED' && state && !state.failed && !isComplete(state); i++) {
    await new Promise((r) => setTimeout(r, 1000));
    state = await ctx.store.load(t.run.experimentId);
  }
  if (state && isComplete(state)) {
    const resultPath = join(ctx.studyDir, t.run.resultDirName, RESULT_FILE_NAME);
    const result = await readResult(resultPath);
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
async function recordFailure(
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

async function readResult(path: string): Promise<ExperimentResult | null> {
  try {
    const parsed = ExperimentResultSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
