import { hostname } from 'node:os';
import type { Clock } from '../clock.js';
import { isStateConflictError, isStateStoreError } from '../errors.js';
import type { ExperimentResult } from '../results/experiment-result.js';
import {
  adoptAsDone,
  createState,
  type ExperimentState,
  isComplete,
  markFailed,
  type SchedulerJob,
  withOwner,
} from '../state/experiment-state.js';
import { ownerVerdict } from '../state/liveness.js';
import type { StateStore } from '../state/store.js';
import { adoptCommittedResult, inspectResultFor } from './adopt.js';

/**
 * Claiming one experiment-cycle through the store, so two llem processes (or two runners in one
 * process) never measure it twice. Every decision rests on the store's two atomic operations:
 * `create` (fails when the record exists) and `save` (refuses a stale revision).
 *
 * Retrying a failed run: the phase machine has no backward move, so a retry is a NEW attempt,
 * not a transition. We save a fresh `initialising` state (attempt + 1) over the old record,
 * carrying the old record's revision: the store contract's revision check makes exactly one of
 * two concurrent retriers win; the loser gets StateConflictError and leaves the run alone.
 * (delete + create would leave a window where a third process sees no record at all.)
 *
 * Ownership: `ownerPid`/`hostName` name the llem process that claimed the attempt. While
 * initialising it alone decides liveness (a run whose llem died while preparing is stale, a live
 * one is never stolen); while measuring, the workload pid or the owner being alive keeps it.
 */

export interface ClaimRequest {
  experimentId: string;
  configHash: string;
  studyId: string | null;
  cycle: number | null;
  force: boolean;
  /**
   * With force: only states created before this instant (ISO UTC) are remeasured, so a run that
   * a concurrent `--force` invocation already remeasured is reused, not measured a third time.
   */
  forceSince?: string;
  /**
   * Absolute path of the result.json this attempt will commit (recorded on the state, so a crash
   * after the result is written and before `done` is saved is adopted, not measured again).
   */
  resultPath?: string | null;
  /** Lone experiments: a completed state with the same hash under another id counts as done. */
  reuseByHash: boolean;
  /**
   * The scheduler job this process runs in (`llem exec` inside a Slurm job). An unfinished state
   * submitted as exactly this job is taken over by it: the submitter claimed it for this job.
   */
  schedulerJob?: SchedulerJob | null;
}

export type Claim =
  | { kind: 'claimed'; state: ExperimentState; previous: ExperimentState | null; staleReason: string | null }
  | { kind: 'reused'; state: ExperimentState }
  /**
   * An earlier attempt committed its result but its llem died before saving `done`: the state is
   * now done from that result (see adopt.ts), and nothing is measured.
   */
  | {
      kind: 'adopted';
      state: ExperimentState;
      result: ExperimentResult;
      path: string;
      previous: ExperimentState;
    }
  | { kind: 'busy'; state: ExperimentState | null; reason: string };

export async function claimRun(store: StateStore, request: ClaimRequest, clock: Clock): Promise<Claim> {
  let existing = await store.load(request.experimentId);
  if (!existing && request.reuseByHash && !request.force) {
    const found = await store.findByConfigHash(request.configHash);
    if (found && isComplete(found)) return { kind: 'reused', state: found };
  }
  if (!existing) {
    // No record, but maybe a result: the store was lost or replaced after the run committed it.
    // The result is the commit record, so the run is done; its state is rebuilt from it.
    const committed = await inspectResultFor(request.force ? null : (request.resultPath ?? null), {
      experimentId: request.experimentId,
      configHash: request.configHash,
      cycle: request.cycle,
      attempt: null,
    });
    let created: ExperimentState;
    try {
      // Owner and attempt go in the creating write: a kill right after it leaves a record whose
      // dead owner marks it stale at once, not an unowned one that looks busy for a while.
      created = await store.create(request.experimentId, request.configHash, {
        studyId: request.studyId,
        cycle: request.cycle,
        ownerPid: process.pid,
        hostName: hostname(),
        attempt: committed.kind === 'own' ? committed.result.attempt : 1,
        resultPath: request.resultPath ?? null,
      });
    } catch (error) {
      if (!isStateStoreError(error)) throw error;
      const winner = await store.load(request.experimentId);
      if (!winner) throw error;
      return { kind: 'busy', state: winner, reason: `claimed by another llem process${ownerText(winner)}` };
    }
    if (committed.kind === 'own') {
      const state = await store.save(adoptAsDone(created, clock));
      return { kind: 'adopted', state, result: committed.result, path: committed.path, previous: created };
    }
    return { kind: 'claimed', state: created, previous: null, staleReason: null };
  }
  if (isComplete(existing) && !forces(request, existing)) return { kind: 'reused', state: existing };
  if (
    request.schedulerJob &&
    existing.phase === 'initialising' &&
    !existing.failed &&
    existing.scheduler?.name === request.schedulerJob.name &&
    existing.scheduler.jobId === request.schedulerJob.jobId
  )
    return own(store, existing, null, null, clock);

  let staleReason: string | null = null;
  const running = !existing.failed && existing.phase !== 'done';
  if (running) {
    const verdict = ownerVerdict(existing, clock);
    if (!verdict.stale)
      return { kind: 'busy', state: existing, reason: `already running${ownerText(existing)}` };
    staleReason = verdict.reason;
  }
  if (!isComplete(existing)) {
    // Before anything is measured again: did the last attempt commit its result?
    const previous = existing;
    try {
      const adoption = await adoptCommittedResult(store, existing, clock);
      if (adoption.kind === 'adopted')
        return {
          kind: 'adopted',
          state: adoption.state,
          result: adoption.result,
          path: adoption.path,
          previous,
        };
    } catch (error) {
      if (isStateConflictError(error))
        return { kind: 'busy', state: existing, reason: 'claimed by another llem process' };
      throw error;
    }
  }
  if (running && staleReason !== null) {
    try {
      existing = await store.save(markFailed(existing, staleReason, 'stale', clock));
    } catch (error) {
      if (isStateConflictError(error))
        return { kind: 'busy', state: existing, reason: 'claimed by another llem process' };
      throw error;
    }
  }
  const fresh: ExperimentState = {
    ...createState(request.experimentId, request.configHash, {
      studyId: request.studyId,
      cycle: request.cycle,
      resultPath: request.resultPath ?? null,
      clock,
    }),
    attempt: existing.attempt + 1,
    revision: existing.revision,
  };
  return own(store, fresh, existing, staleReason, clock);
}

async function own(
  store: StateStore,
  state: ExperimentState,
  previous: ExperimentState | null,
  staleReason: string | null,
  clock: Clock,
): Promise<Claim> {
  try {
    const saved = await store.save(withOwner(state, process.pid, clock));
    return { kind: 'claimed', state: saved, previous, staleReason };
  } catch (error) {
    if (isStateConflictError(error))
      return { kind: 'busy', state: null, reason: 'claimed by another llem process' };
    throw error;
  }
}

/** Does `force` apply to this completed state (created before the forcing invocation began)? */
export function forces(request: Pick<ClaimRequest, 'force' | 'forceSince'>, state: ExperimentState): boolean {
  return request.force && (request.forceSince === undefined || state.createdAt < request.forceSince);
}

function ownerText(state: ExperimentState): string {
  const pid = state.subprocessPid ?? state.ownerPid;
  if (pid === null) return '';
  return ` (pid ${pid} on host ${state.hostName ?? 'unknown'})`;
}
