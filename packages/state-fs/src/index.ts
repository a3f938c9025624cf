export { createFsStateStore, FsStateStore, type FsStateStoreOptions } from './fs-state-store.js';
export { HashIndex } from './hash-index.js';
export { acquireLockFile, type LockFileOptions, sweepDeadLockFiles } from './lock-file.js';
export { default } from './plugin.js';
