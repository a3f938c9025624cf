import { hostname } from 'node:os';
import { systemClock } from '../clock.js';
import { ConfigError, StateConflictError, StateStoreError } from '../errors.js';
import type { ExperimentState } from './experiment-state.js';
import { isProcessAlive } from './liveness.js';
import type { StateStoreEnvironment } from './store.js';

/** Helpers every bundled store shares, so each store keeps only how it reads and writes. */

/** A store's environment with every default filled in (system clock, kill(pid, 0), os.hostname()). */
export function resolveStateStoreEnvironment(
  options: StateStoreEnvironment,
): Required<StateStoreEnvironment> {
  return {
    clock: options.clock ?? systemClock,
    isProcessAlive: options.isProcessAlive ?? isProcessAlive,
    hostName: options.hostName ?? hostname(),
  };
}

/**
 * The version of `state` a store writes, given what it holds now (`current`, read under the
 * store's lock or transaction): `create` refuses an existing record, and the caller's revision
 * must match the stored one (optimistic concurrency), else StateConflictError.
 * `location` names the store in the message (a directory, a database file).
 */
export function nextRevision(
  current: ExperimentState | null,
  state: ExperimentState,
  mode: 'create' | 'save',
  location: string,
): ExperimentState {
  const id = state.experimentId;
  if (mode === 'create' && current) {
    throw new StateStoreError(`An experiment state '${id}' already exists in ${location}.`, {
      fix: 'Load it instead, or delete it first.',
    });
  }
  const stored = current?.revision ?? 0;
  if (stored !== state.revision) throw new StateConflictError(id, stored, state.revision);
  return { ...state, revision: state.revision + 1 };
}

const CONFIG_HASH = /^[0-9a-f]{16}$/;

/** A config hash given to a filter or lookup: 16 lowercase hex characters, else ConfigError. */
export function assertConfigHash(configHash: string): void {
  if (!CONFIG_HASH.test(configHash)) {
    throw new ConfigError(`'${configHash}' is not a config hash (16 lowercase hex characters).`);
  }
}
