/**
 * The behavioural contract of a `StateStore`, one function per concern (keyv's test-suite shape):
 * `describeStateStoreContract` runs them all; each part runs one concern on its own with the same
 * `(name, factory)`, e.g. while a new store is being written or to bisect a failure. Every
 * assertion's message says which rule was broken and why the rule exists.
 */
import { describeStateStoreCleanupStale } from './state-store/cleanup-stale.js';
import { describeStateStoreCorruption } from './state-store/corruption.js';
import { describeStateStoreFindByConfigHash } from './state-store/find-by-config-hash.js';
import type { StateStoreContractFactory, StateStoreContractPart } from './state-store/harness.js';
import { describeStateStoreIdsAndPaths } from './state-store/ids-and-paths.js';
import { describeStateStoreLifecycle } from './state-store/lifecycle.js';
import { describeStateStoreList } from './state-store/list.js';
import { describeStateStoreRevisions } from './state-store/revisions.js';

export { describeStateStoreCleanupStale } from './state-store/cleanup-stale.js';
export { describeStateStoreCorruption } from './state-store/corruption.js';
export { describeStateStoreFindByConfigHash } from './state-store/find-by-config-hash.js';
export {
  type StateStoreContractFactory,
  type StateStoreContractHarness,
  type StateStoreContractOptions,
  type StateStoreContractPart,
  steppingClock,
} from './state-store/harness.js';
export { describeStateStoreIdsAndPaths } from './state-store/ids-and-paths.js';
export { describeStateStoreLifecycle } from './state-store/lifecycle.js';
export { describeStateStoreList } from './state-store/list.js';
export { describeStateStoreRevisions } from './state-store/revisions.js';

/** Every part of the contract, by concern, in the order `describeStateStoreContract` runs them. */
export const STATE_STORE_CONTRACT_PARTS: Readonly<Record<string, StateStoreContractPart>> = {
  lifecycle: describeStateStoreLifecycle,
  revisions: describeStateStoreRevisions,
  list: describeStateStoreList,
  findByConfigHash: describeStateStoreFindByConfigHash,
  cleanupStale: describeStateStoreCleanupStale,
  corruption: describeStateStoreCorruption,
  idsAndPaths: describeStateStoreIdsAndPaths,
};

/**
 * The whole contract of a `StateStore`. Call it at the top level of a vitest file:
 * `describeStateStoreContract('FsStateStore', async (options) => ({ store, writeRaw, cleanup }))`.
 * The factory is called for every test and must return a fresh, empty store wired to `options`.
 */
export function describeStateStoreContract(name: string, factory: StateStoreContractFactory): void {
  for (const part of Object.values(STATE_STORE_CONTRACT_PARTS)) part(name, factory);
}
