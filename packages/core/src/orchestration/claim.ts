import { hostname } from 'node:os';
import type { Clock } from '../clock.js';
import { StateConflictError, StateStoreError } from '../errors.js';
import {
  createState,
  type ExperimentState,
  isComplete,
  markFailed,
  type SchedulerJob,
  withOwner,
} from '../state/experiment-state.js';
import { isProcessAlive, type StaleVerdict, staleVerdict } from '../state/liveness.js';
import type { StateStore } from '../state/store.js';

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

/** An initialising record without an owner pid older than this is abandoned (crash between create and save). */
export const UNOWNED_INITIALISING_GRACE_MS = 60_000;

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
  | { kind: 'busy'; state: ExperimentState | null; reason: string };

export async function claimRun(store: StateStore, request: ClaimRequest, clock: Clock): Promise<Claim> {
  let existing = await store.load(request.experimentId);
  if (!existing && request.reuseByHash && !request.force) {
    const found = await store.findByConfigHash(request.configHash);
    if (found && isComplete(found)) return { kind: 'reused', state: found };
  }
  if (!existing) {
    let created: ExperimentState;
    try {
      // Owner and attempt go in the creating write: a kill right after it leaves a record whose
      // dead owner marks it stale at once, not an unowned one that looks busy for a while.
      created = await store.create(request.experimentId, request.configHash, {
        studyId: request.studyId,
        cycle: request.cycle,
        ownerPid: process.pid,
        hostName: hostname(),
        attempt: 1,
      });
    } catch (error) {
      if (!(error instanceof StateStoreError)) throw error;
      const winner = await store.load(request.experimentId);
      if (!winner) throw error;
      return { kind: 'busy', state: winner, reason: `claimed by another llem process${ownerText(winner)}` };
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
  if (!existing.failed && existing.phase !== 'done') {
    const verdict = ownerVerdict(existing, clock);
    if (!verdict.stale)
      return { kind: 'busy', state: existing, reason: `already running${ownerText(existing)}` };
    staleReason = verdict.reason;
    try {
      existing = await store.save(markFailed(existing, verdict.reason, 'stale', clock));
    } catch (error) {
      if (error instanceof StateConflictError)
        return { kind: 'busy', state: existing, reason: 'claimed by another llem process' };
      throw error;
    }
  }
  const fresh: ExperimentState = {
    ...createState(request.experimentId, request.configHash, {
      studyId: request.studyId,
      cycle: request.cycle,
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
    if (error instanceof StateConflictError)
      return { kind: 'busy', state: null, reason: 'claimed by another llem process' };
    throw error;
  }
}

/** Does `force` apply to this completed state (created before the forcing invocation began)? */
export function forces(request: Pick<ClaimRequest, 'force' | 'forceSince'>, state: ExperimentState): boolean {
  return request.force && (request.forceSince === undefined || state.createdAt < request.forceSince);
}

/** Is the process that owns a running (not failed, not done) state gone? */
export function ownerVerdict(
  state: ExperimentState,
  clock: Clock,
  alive: (pid: number) => boolean = isProcessAlive,
  localHost: string = hostname(),
): StaleVerdict {
  if (state.phase === 'measuring') return staleVerdict(state, alive, localHost);
  if (state.phase !== 'initialising' || state.failed) return { stale: false };
  if (state.ownerPid === null) {
    const age = clock.now().getTime() - Date.parse(state.lastUpdated);
    return age > UNOWNED_INITIALISING_GRACE_MS
      ? {
          stale: true,
          reason: `Stale: initialising since ${state.lastUpdated} with no owning process (llem stopped while claiming).`,
        }
      : { stale: false };
  }
  if (state.hostName !== null && state.hostName !== localHost) return { stale: false };
  if (alive(state.ownerPid)) return { stale: false };
  return {
    stale: true,
    reason: `Stale: llem process ${state.ownerPid} stopped while preparing this run.`,
  };
}

function ownerText(state: ExperimentState): string {
  const pid = state.subprocessPid ?? state.ownerPid;
  if (pid === null) return '';
  return ` (pid ${pid} on host ${state.hostName ?? 'unknown'})`;
}
