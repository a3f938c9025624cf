export { createFsStateStore, FsStateStore, type FsStateStoreOptions } from './fs-state-store.js';
export { HashIndex } from './hash-index.js';
export { acquireLockFile, type LockFileOptions } from './lock-file.js';
