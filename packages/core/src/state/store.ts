import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Clock } from '../clock.js';
import type { CreateStateOptions, ExperimentState } from './experiment-state.js';
import type { ExperimentPhase } from './phase.js';

export interface StateFilter {
  phase?: ExperimentPhase;
  failed?: boolean;
  studyId?: string;
  configHash?: string;
}

/** Pass to `list` to skip (and report) corrupt records instead of throwing on the first one. */
export interface ListOptions {
  onCorrupt?: (error: Error) => void;
}

/**
 * Persistence for experiment states. Implementations: @llem/state-fs, @llem/state-sqlite.
 * Every implementation runs `describeStateStoreContract` from `@llem/core/testing`.
 */
export interface StateStore {
  readonly name: string;
  /** Creates and stores a fresh state; fails if one with this id exists. */
  create(
    experimentId: string,
    configHash?: string | null,
    options?: Omit<CreateStateOptions, 'clock'>,
  ): Promise<ExperimentState>;
  /** The stored state, or null when absent. A corrupt record throws StateStoreError naming it. */
  load(experimentId: string): Promise<ExperimentState | null>;
  /**
   * Stores `state` if the stored revision equals `state.revision` (or nothing is stored and
   * revision is 0) and returns it with `revision + 1`; otherwise throws StateConflictError.
   */
  save(state: ExperimentState): Promise<ExperimentState>;
  /**
   * Moves a (corrupt) record out of the store's view without deleting or overwriting anything,
   * and returns where it went. Optional: a store that cannot quarantine only reports.
   */
  quarantine?(experimentId: string): Promise<string>;
  /** True when a record was deleted. */
  delete(experimentId: string): Promise<boolean>;
  list(filter?: StateFilter, options?: ListOptions): Promise<ExperimentState[]>;
  /** The most recently updated state with this config hash, or null. */
  findByConfigHash(configHash: string): Promise<ExperimentState | null>;
  /** Marks stale `measuring` states failed (kind `stale`); returns their ids. */
  cleanupStale(): Promise<string[]>;
  close(): Promise<void>;
}

/** Options every bundled store accepts; injectable so stale detection and timestamps are testable. */
export interface StateStoreEnvironment {
  clock?: Clock;
  /** Liveness check for `cleanupStale` (default: `kill(pid, 0)`, EPERM counts as alive). */
  isProcessAlive?: (pid: number) => boolean;
  /** This machine's name, compared with a state's `hostName` (default: `os.hostname()`). */
  hostName?: string;
}

export const STATE_DIR_ENV = 'LLEM_STATE_DIR';

/**
 * Where stores keep state by default: `$LLEM_STATE_DIR`, else `$XDG_STATE_HOME/llenergymeasure`,
 * else `~/.local/state/llenergymeasure` (XDG base-dir spec: a relative XDG path is ignored).
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env[STATE_DIR_ENV];
  if (explicit) return explicit;
  const xdg = env.XDG_STATE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'state');
  return join(base, 'llenergymeasure');
}
