import { lstat, mkdir, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type Clock, systemClock } from '../clock.js';
import { isStateConflictError } from '../errors.js';
import type { ExperimentResult } from '../results/experiment-result.js';
import { readResultFile } from '../results/read-results.js';
import { adoptAsDone, type ExperimentState, isComplete } from '../state/experiment-state.js';
import { ownerVerdict } from '../state/liveness.js';
import type { StateStore } from '../state/store.js';

/**
 * A result.json is the commit record of a measurement: the orchestrator writes it (complete, with
 * its sidecars, by one directory rename) before it saves the state `done`. A crash between the two
 * leaves a `measuring` state whose result exists. Such a state is *adopted*: marked done from its
 * result, never measured again. A result file that is not this attempt's own (another config,
 * cycle or attempt, or unreadable) is set aside, never overwritten, and reported.
 */

export type CommittedResult =
  /** No result at the state's result path (or the state records none). */
  | { kind: 'absent' }
  /** This attempt's own result: adopt it. */
  | { kind: 'own'; path: string; result: ExperimentResult }
  /** Something else is there: set it aside before measuring again. */
  | { kind: 'foreign'; path: string; reason: string };

/** Who a result file must belong to. `attempt: null` accepts any attempt (a state being created). */
export interface ResultOwner {
  experimentId: string;
  configHash: string | null;
  cycle: number | null;
  attempt: number | null;
}

/** Looks at a result file and says whether it belongs to `owner`. Never throws for a bad file. */
export async function inspectResultFor(path: string | null, owner: ResultOwner): Promise<CommittedResult> {
  if (!path) return { kind: 'absent' };
  const read = await readResultFile(path);
  if (read === null) return { kind: 'absent' };
  if ('problem' in read) return { kind: 'foreign', path, reason: read.problem.reason };
  const r = read.result;
  const differs: string[] = [];
  if (r.experiment_id !== owner.experimentId) differs.push(`experiment ${r.experiment_id}`);
  if (r.config_hash !== owner.configHash) differs.push(`config hash ${r.config_hash}`);
  if (r.cycle !== owner.cycle) differs.push(`cycle ${r.cycle}`);
  if (owner.attempt !== null && r.attempt !== owner.attempt) differs.push(`attempt ${r.attempt}`);
  if (differs.length > 0)
    return {
      kind: 'foreign',
      path,
      reason: `it belongs to ${differs.join(', ')}, not to ${owner.attempt === null ? '' : `attempt ${owner.attempt} of `}${owner.experimentId}`,
    };
  return { kind: 'own', path, result: r };
}

/** Looks at the result file a state's attempt commits to. Never throws for a bad file. */
export function inspectCommittedResult(state: ExperimentState): Promise<CommittedResult> {
  return inspectResultFor(state.resultPath, state);
}

/**
 * May this state be adopted now? Only when its attempt is over: failed, or unfinished with its
 * owning llem (and workload) gone. A live owner may be about to save `done` itself.
 */
export function attemptIsOver(
  state: ExperimentState,
  clock: Clock = systemClock,
  alive?: (pid: number) => boolean,
  localHost?: string,
): boolean {
  if (isComplete(state) || state.phase === 'done') return false;
  return state.failed || ownerVerdict(state, clock, alive, localHost).stale;
}

export type AdoptionOutcome =
  | { kind: 'adopted'; state: ExperimentState; result: ExperimentResult; path: string }
  | { kind: 'not-adoptable'; state: ExperimentState; foreign: CommittedResult | null };

/**
 * Adopts a finished attempt's committed result: the state becomes done (see adoptAsDone). Does
 * nothing unless the attempt is over and its own result exists. A concurrent writer wins
 * (StateConflictError is rethrown for the caller to treat as busy).
 */
export async function adoptCommittedResult(
  store: StateStore,
  state: ExperimentState,
  clock: Clock,
  options: { alive?: (pid: number) => boolean; hostName?: string } = {},
): Promise<AdoptionOutcome> {
  if (!attemptIsOver(state, clock, options.alive, options.hostName))
    return { kind: 'not-adoptable', state, foreign: null };
  const committed = await inspectCommittedResult(state);
  if (committed.kind !== 'own')
    return { kind: 'not-adoptable', state, foreign: committed.kind === 'foreign' ? committed : null };
  const saved = await store.save(adoptAsDone(state, clock));
  return { kind: 'adopted', state: saved, result: committed.result, path: committed.path };
}

/**
 * Every unfinished state in the store whose attempt is over and whose result was committed becomes
 * done (`llem cleanup`, before stale states are marked failed). Returns the adopted ids.
 */
export async function adoptCommittedResults(store: StateStore, clock: Clock): Promise<string[]> {
  const adopted: string[] = [];
  const candidates = (await store.list({}, { onCorrupt: () => {} })).filter((s) => s.phase !== 'done');
  for (const state of candidates) {
    try {
      const outcome = await adoptCommittedResult(store, state, clock);
      if (outcome.kind === 'adopted') adopted.push(state.experimentId);
    } catch (error) {
      if (!isStateConflictError(error)) throw error;
    }
  }
  return adopted;
}

/** Where result directories are set aside (under the study or results directory). */
export const ASIDE_DIR_NAME = '.llem-aside';

/**
 * Moves a result directory that must not be overwritten into `<parent>/.llem-aside/` under a name
 * that never replaces an earlier one (`<name>.<label>`, `<name>.<label>.1`, ...). Returns the new
 * path, or null when there was nothing to move.
 */
export async function setResultDirAside(resultDir: string, label: string): Promise<string | null> {
  try {
    await lstat(resultDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const aside = join(dirname(resultDir), ASIDE_DIR_NAME);
  await mkdir(aside, { recursive: true });
  for (let i = 0; ; i++) {
    const target = join(aside, `${basename(resultDir)}.${label}${i === 0 ? '' : `.${i}`}`);
    try {
      // A directory rename replaces an *empty* target directory; aside names are never created empty.
      await rename(resultDir, target);
      return target;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'EEXIST' || code === 'ENOTEMPTY') continue;
      throw error;
    }
  }
}
