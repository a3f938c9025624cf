import { link, mkdir, readdir, readFile, rmdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createState,
  type ExperimentState,
  ExperimentStateSchema,
  isTempFileName,
  markFailed,
  StateConflictError,
  type StateFilter,
  type StateStore,
  StateStoreError,
  sanitizeExperimentId,
  staleVerdict,
  writeFileAtomic,
} from '../../../src/index.js';

/**
 * A minimal real StateStore for core's tests (core cannot depend on @llem/state-fs): one JSON file
 * per experiment. `create` is atomic through link(2) (fails if the name exists); `save` holds a
 * mkdir(2) lock while it checks the revision, so it is safe across processes too.
 */
export class JsonFileTestStore implements StateStore {
  readonly name = 'test-json-files';
  constructor(private readonly dir: string) {}

  private path(id: string): string {
    return join(this.dir, `${sanitizeExperimentId(id)}.json`);
  }

  async create(
    id: string,
    configHash: string | null = null,
    options: { studyId?: string | null; cycle?: number | null } = {},
  ): Promise<ExperimentState> {
    await mkdir(this.dir, { recursive: true });
    const state = createState(id, configHash, options);
    const temp = join(this.dir, `.tmp-create-${process.pid}-${Math.random().toString(36).slice(2)}`);
    await writeFile(temp, JSON.stringify(state));
    try {
      await link(temp, this.path(id));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST')
        throw new StateStoreError(`State '${id}' already exists.`);
      throw error;
    } finally {
      await unlink(temp);
    }
    return state;
  }

  async load(id: string): Promise<ExperimentState | null> {
    let text: string;
    try {
      text = await readFile(this.path(id), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const parsed = ExperimentStateSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new StateStoreError(`${this.path(id)}: not a valid state record.`);
    return parsed.data;
  }

  async save(state: ExperimentState): Promise<ExperimentState> {
    await mkdir(this.dir, { recursive: true });
    const lock = `${this.path(state.experimentId)}.lock`;
    for (let tries = 0; ; tries++) {
      try {
        await mkdir(lock);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 2000) throw error;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    try {
      const stored = await this.load(state.experimentId);
      const storedRevision = stored?.revision ?? 0;
      if (storedRevision !== state.revision)
        throw new StateConflictError(state.experimentId, storedRevision, state.revision);
      const next = { ...ExperimentStateSchema.parse(state), revision: state.revision + 1 };
      await writeFileAtomic(this.path(state.experimentId), JSON.stringify(next), { durable: false });
      return next;
    } finally {
      await rmdir(lock);
    }
  }

  async delete(id: string): Promise<boolean> {
    try {
      await unlink(this.path(id));
      return true;
    } catch {
      return false;
    }
  }

  async list(filter: StateFilter = {}): Promise<ExperimentState[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const states: ExperimentState[] = [];
    for (const name of names) {
      if (!name.endsWith('.json') || isTempFileName(name) || name.startsWith('.tmp')) continue;
      const state = await this.load(name.slice(0, -5));
      if (!state) continue;
      if (filter.phase !== undefined && state.phase !== filter.phase) continue;
      if (filter.failed !== undefined && state.failed !== filter.failed) continue;
      if (filter.studyId !== undefined && state.studyId !== filter.studyId) continue;
      if (filter.configHash !== undefined && state.configHash !== filter.configHash) continue;
      states.push(state);
    }
    return states;
  }

  async findByConfigHash(configHash: string): Promise<ExperimentState | null> {
    const states = await this.list({ configHash });
    states.sort((a, b) => b.lastUpdated.localeCompare(a.lastUpdated));
    return states[0] ?? null;
  }

  async cleanupStale(): Promise<string[]> {
    const ids: string[] = [];
    for (const state of await this.list({ phase: 'measuring', failed: false })) {
      const verdict = staleVerdict(state);
      if (verdict.stale) {
        await this.save(markFailed(state, verdict.reason, 'stale'));
        ids.push(state.experimentId);
      }
    }
    return ids;
  }

  async close(): Promise<void> {}
}
