import { link, mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  assertConfigHash,
  assertStorableState,
  type ConfigError,
  type CreateStateOptions,
  cleanupStaleStates,
  createState,
  defaultStateDir,
  type ExperimentState,
  fsyncDirectory,
  isConfigError,
  isStateStoreError,
  isTempFileName,
  type ListOptions,
  messageOf,
  nextRevision,
  parseStoredState,
  resolveStateStoreEnvironment,
  type StateFilter,
  type StateStore,
  type StateStoreEnvironment,
  StateStoreError,
  sanitizeExperimentId,
  writeFileAtomic,
} from '@llem/core';
import { HashIndex } from './hash-index.js';
import { acquireLockFile, sweepDeadLockFiles } from './lock-file.js';

export interface FsStateStoreOptions extends StateStoreEnvironment {
  /** Directory of the records (default: `defaultStateDir()`, i.e. `$LLEM_STATE_DIR` or the XDG state dir). */
  dir?: string;
  /** fsync every write (default true). Only tests and benchmarks of the bare cost turn it off. */
  durable?: boolean;
  /** How long a writer waits for another writer's lock on the same record (default 10 s). */
  lockTimeoutMs?: number;
}

const RECORD_SUFFIX = '.json';
/** Corrupt records moved aside by `quarantine`, never read again by the store. */
const QUARANTINE_DIR = '.quarantine';

/**
 * StateStore on plain files: `<dir>/<id>.json` per experiment, written atomically (temp file,
 * fsync, rename, fsync dir). Writers of one record serialise on `<dir>/.locks/<id>.lock`, so the
 * revision check and the write happen as one step even across processes. `<dir>/.index/` maps
 * config hashes to ids, so findByConfigHash reads only the candidates.
 */
export class FsStateStore implements StateStore {
  readonly name = 'fs';
  readonly dir: string;
  private readonly index: HashIndex;
  private readonly locksDir: string;
  private readonly env: Required<StateStoreEnvironment>;
  private readonly durable: boolean;
  private readonly lockTimeoutMs: number;
  private closed = false;

  /** Use `createFsStateStore` (or `FsStateStore.open`), which also creates the directories. */
  constructor(options: FsStateStoreOptions = {}) {
    this.dir = resolve(options.dir ?? defaultStateDir());
    this.durable = options.durable ?? true;
    this.index = new HashIndex(join(this.dir, '.index'), this.durable);
    this.locksDir = join(this.dir, '.locks');
    this.env = resolveStateStoreEnvironment(options);
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  }

  static async open(options: FsStateStoreOptions = {}): Promise<FsStateStore> {
    const store = new FsStateStore(options);
    try {
      await mkdir(join(store.dir, '.index'), { recursive: true });
      await mkdir(store.locksDir, { recursive: true });
      await sweepDeadLockFiles(store.locksDir, store.env);
    } catch (error) {
      throw new StateStoreError(`Cannot create the state directory ${store.dir}: ${messageOf(error)}`, {
        fix: 'Set LLEM_STATE_DIR (or the store option `dir`) to a writable directory.',
        cause: error,
      });
    }
    return store;
  }

  /** Path of the record of `experimentId` (validated). */
  recordPath(experimentId: string): string {
    return join(this.dir, `${sanitizeExperimentId(experimentId)}${RECORD_SUFFIX}`);
  }

  async create(
    experimentId: string,
    configHash: string | null = null,
    options: Omit<CreateStateOptions, 'clock'> = {},
  ): Promise<ExperimentState> {
    this.assertOpen();
    return this.write(createState(experimentId, configHash, { ...options, clock: this.env.clock }), 'create');
  }

  async load(experimentId: string): Promise<ExperimentState | null> {
    this.assertOpen();
    return this.read(experimentId);
  }

  async save(state: ExperimentState): Promise<ExperimentState> {
    this.assertOpen();
    return this.write(state, 'save');
  }

  async delete(experimentId: string): Promise<boolean> {
    this.assertOpen();
    const path = this.recordPath(experimentId);
    return this.withLock(experimentId, async () => {
      const current = await this.read(experimentId).catch(() => null);
      try {
        await unlink(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw this.ioError('delete', path, error);
      }
      if (this.durable) await fsyncDirectory(this.dir);
      if (current?.configHash) await this.index.remove(current.configHash, experimentId);
      return true;
    });
  }

  /** Moves `<id>.json` to `.quarantine/<id>.json.<time>` (hard link + unlink: never overwrites). */
  async quarantine(experimentId: string): Promise<string> {
    this.assertOpen();
    const id = sanitizeExperimentId(experimentId);
    const source = this.recordPath(id);
    return this.withLock(id, async () => {
      const dir = join(this.dir, QUARANTINE_DIR);
      await mkdir(dir, { recursive: true });
      const target = join(dir, `${id}${RECORD_SUFFIX}.${new Date().toISOString().replace(/[:.]/g, '-')}`);
      try {
        await link(source, target);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new StateStoreError(`No state record ${source} to quarantine.`);
        throw this.ioError('quarantine', source, error);
      }
      if (this.durable) await fsyncDirectory(dir);
      await unlink(source);
      if (this.durable) await fsyncDirectory(this.dir);
      return target;
    });
  }

  async list(filter: StateFilter = {}, options: ListOptions = {}): Promise<ExperimentState[]> {
    this.assertOpen();
    const ids =
      filter.configHash !== undefined ? await this.hashCandidates(filter.configHash) : await this.allIds();
    const states: ExperimentState[] = [];
    for (const id of ids.sort()) {
      let state: ExperimentState | null;
      try {
        state = await this.read(id);
      } catch (caught) {
        const error = isConfigError(caught) ? this.foreignFile(id, caught) : caught;
        if (!options.onCorrupt || !isStateStoreError(error)) throw error;
        options.onCorrupt(error);
        continue;
      }
      if (state && matches(state, filter)) states.push(state);
    }
    return states;
  }

  async findByConfigHash(configHash: string): Promise<ExperimentState | null> {
    this.assertOpen();
    let best: ExperimentState | null = null;
    for (const id of await this.hashCandidates(configHash)) {
      const state = await this.read(id);
      if (state?.configHash !== configHash) continue; // a marker left by a crash or a hash change
      if (!best || isNewer(state, best)) best = state;
    }
    return best;
  }

  async cleanupStale(): Promise<string[]> {
    this.assertOpen();
    return cleanupStaleStates(this, this.env);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new StateStoreError(`The state store in ${this.dir} is closed.`);
  }

  private async write(input: ExperimentState, mode: 'create' | 'save'): Promise<ExperimentState> {
    const state = assertStorableState(input);
    const id = state.experimentId;
    const path = this.recordPath(id);
    return this.withLock(id, async () => {
      const current = await this.read(id);
      const next = nextRevision(current, state, mode, this.dir);
      // Index first: a crash after this leaves an extra marker, never a missing one.
      if (next.configHash) await this.index.add(next.configHash, id);
      try {
        await writeFileAtomic(path, `${JSON.stringify(next, null, 2)}\n`, { durable: this.durable });
      } catch (error) {
        throw this.ioError('write', path, error);
      }
      if (current?.configHash && current.configHash !== next.configHash)
        await this.index.remove(current.configHash, id);
      return next;
    });
  }

  private async read(experimentId: string): Promise<ExperimentState | null> {
    const path = this.recordPath(experimentId);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw this.ioError('read', path, error);
    }
    return parseStoredState(text, path, experimentId);
  }

  private async withLock<T>(experimentId: string, body: () => Promise<T>): Promise<T> {
    const release = await acquireLockFile(join(this.locksDir, `${experimentId}.lock`), {
      isProcessAlive: this.env.isProcessAlive,
      hostName: this.env.hostName,
      timeoutMs: this.lockTimeoutMs,
    });
    try {
      return await body();
    } finally {
      await release();
    }
  }

  private async allIds(): Promise<string[]> {
    const names = await readdir(this.dir);
    return names
      .filter((name) => name.endsWith(RECORD_SUFFIX) && !name.startsWith('.') && !isTempFileName(name))
      .map((name) => name.slice(0, -RECORD_SUFFIX.length));
  }

  private async hashCandidates(configHash: string): Promise<string[]> {
    assertConfigHash(configHash);
    return this.index.candidates(configHash);
  }

  /** A `.json` file whose name is not a valid experiment id: not ours, but never silently skipped. */
  private foreignFile(name: string, cause: ConfigError): StateStoreError {
    return new StateStoreError(
      `${join(this.dir, `${name}${RECORD_SUFFIX}`)} is not an llem state record (its name is not a valid experiment id).`,
      { fix: 'Move it out of the state directory.', cause },
    );
  }

  private ioError(action: string, path: string, error: unknown): StateStoreError {
    return new StateStoreError(`Cannot ${action} the state record ${path}: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

function matches(state: ExperimentState, filter: StateFilter): boolean {
  return (
    (filter.phase === undefined || state.phase === filter.phase) &&
    (filter.failed === undefined || state.failed === filter.failed) &&
    (filter.studyId === undefined || state.studyId === filter.studyId) &&
    (filter.configHash === undefined || state.configHash === filter.configHash)
  );
}

/** Later `lastUpdated` wins; ties go to the larger id, so the answer never depends on directory order. */
function isNewer(a: ExperimentState, b: ExperimentState): boolean {
  const [ta, tb] = [Date.parse(a.lastUpdated), Date.parse(b.lastUpdated)];
  return ta === tb ? a.experimentId > b.experimentId : ta > tb;
}

export function createFsStateStore(options: FsStateStoreOptions = {}): Promise<FsStateStore> {
  return FsStateStore.open(options);
}
