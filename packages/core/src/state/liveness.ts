import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Clock } from '../clock.js';
import { isStateConflictError } from '../errors.js';
import { type ExperimentState, markFailed } from './experiment-state.js';
import type { StateStore } from './store.js';

/**
 * Is a process alive? `kill(pid, 0)` succeeding or failing with EPERM both mean it exists
 * (EPERM: it belongs to someone else). Only ESRCH means gone.
 */
export function isProcessAlive(pid: number, kill: (pid: number, signal: 0) => void = process.kill): boolean {
  try {
    kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** A zombie has exited and only waits to be reaped: dead for our purposes. Linux only. */
export function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the parenthesised command name, which may itself contain ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

export type StaleVerdict = { stale: false } | { stale: true; reason: string };

/** An initialising record without an owner pid older than this is abandoned (crash between create and save). */
export const UNOWNED_INITIALISING_GRACE_MS = 60_000;

/**
 * A `measuring`, not-yet-failed state is stale when its workload process is gone and so is the
 * llem process that owns it (`ownerPid`: after the workload exits, llem is still collecting and
 * writing the result). A state recorded on another host cannot be checked from here, so it is
 * never declared stale.
 */
export function staleVerdict(
  state: ExperimentState,
  alive: (pid: number) => boolean = isProcessAlive,
  localHost: string = hostname(),
): StaleVerdict {
  if (state.phase !== 'measuring' || state.failed) return { stale: false };
  const otherHost = state.hostName !== null && state.hostName !== localHost;
  const ownerAlive = !otherHost && state.ownerPid !== null && alive(state.ownerPid);
  if (state.subprocessPid === null) {
    if (ownerAlive) return { stale: false };
    return {
      stale: true,
      reason: 'Stale: measuring without a recorded process (llem stopped before the workload started).',
    };
  }
  if (otherHost) return { stale: false };
  if (alive(state.subprocessPid) || ownerAlive) return { stale: false };
  return {
    stale: true,
    reason: `Stale: workload process ${state.subprocessPid} is no longer running (llem or the workload died).`,
  };
}

export interface CleanupStaleOptions {
  isProcessAlive?: (pid: number) => boolean;
  hostName?: string;
  clock?: Clock;
}

/**
 * The shared body of `StateStore.cleanupStale()`: every `measuring`, not-failed state whose
 * process is gone is marked failed (kind `stale`). Corrupt records are skipped here (load/list
 * still report them); a state another writer changed meanwhile is re-checked once.
 */
export async function cleanupStaleStates(
  store: StateStore,
  options: CleanupStaleOptions = {},
): Promise<string[]> {
  const alive = options.isProcessAlive ?? isProcessAlive;
  const host = options.hostName ?? hostname();
  const cleaned: string[] = [];
  const candidates = await store.list({ phase: 'measuring', failed: false }, { onCorrupt: () => {} });
  for (const candidate of candidates) {
    let state: ExperimentState | null = candidate;
    for (let attempt = 0; attempt < 2 && state; attempt++) {
      const verdict = staleVerdict(state, alive, host);
      if (!verdict.stale) break;
      try {
        await store.save(markFailed(state, verdict.reason, 'stale', options.clock));
        cleaned.push(state.experimentId);
        break;
      } catch (error) {
        if (!isStateConflictError(error)) throw error;
        state = await store.load(state.experimentId);
      }
    }
  }
  return cleaned;
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
