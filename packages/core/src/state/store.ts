import type { ExperimentPhase } from './phase.js';
import type { ExperimentState } from './experiment-state.js';

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
  create(experimentId: string, configHash?: string | null, options?: { studyId?: string | null; cycle?: number | null }): Promise<ExperimentState>;
  /** The stored state, or null when absent. A corrupt record throws StateStoreError naming it. */
  load(experimentId: string): Promise<ExperimentState | null>;
  /**
   * Stores `state` if the stored revision equals `state.revision` (or nothing is stored and
   * revision is 0) and returns it with `revision + 1`; otherwise throws StateConflictError.
   */
  save(state: ExperimentState): Promise<ExperimentState>;
  /** True when a record was deleted. */
  delete(experimentId: string): Promise<boolean>;
  list(filter?: StateFilter, options?: ListOptions): Promise<ExperimentState[]>;
  /** The most recently updated state with this config hash, or null. */
  findByConfigHash(configHash: string): Promise<ExperimentState | null>;
  /** Marks stale `measuring` states failed (kind `stale`); returns their ids. */
  cleanupStale(): Promise<string[]>;
  close(): Promise<void>;
}
