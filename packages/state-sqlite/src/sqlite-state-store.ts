import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  assertConfigHash,
  assertStorableState,
  type CreateStateOptions,
  cleanupStaleStates,
  createState,
  defaultStateDir,
  type ExperimentState,
  isConfigError,
  isStateStoreError,
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
} from '@llem/core';
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';

export interface SqliteStateStoreOptions extends StateStoreEnvironment {
  /** Database file (default: `state.sqlite` in `defaultStateDir()`, i.e. `$LLEM_STATE_DIR` or the XDG state dir). */
  path?: string;
  /** How long a writer waits for another process's write lock, in ms (default 10 s). */
  busyTimeoutMs?: number;
  /** `synchronous=FULL` (default true): a saved state survives power loss, not only a crash. */
  durable?: boolean;
}

interface Row {
  id: string;
  data: string;
}

export const DEFAULT_DB_NAME = 'state.sqlite';

/**
 * StateStore on one SQLite database (WAL). Each state is a row: the JSON record plus the columns
 * that filters and findByConfigHash use (indexed). A save checks the revision and writes inside
 * one BEGIN IMMEDIATE transaction, so concurrent writers, in this process or others, never
 * lose an update.
 */
export class SqliteStateStore implements StateStore {
  readonly name = 'sqlite';
  readonly path: string;
  private readonly db: Database.Database;
  private readonly env: Required<StateStoreEnvironment>;
  private closed = false;
  private readonly statements: ReturnType<SqliteStateStore['prepare']>;

  constructor(options: SqliteStateStoreOptions = {}) {
    this.path = options.path ?? join(defaultStateDir(), DEFAULT_DB_NAME);
    if (this.path !== ':memory:') this.path = resolve(this.path);
    this.env = resolveStateStoreEnvironment(options);
    try {
      if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
      this.db = new Database(this.path);
    } catch (error) {
      throw new StateStoreError(`Cannot open the state database ${this.path}: ${messageOf(error)}`, {
        fix: 'Set LLEM_STATE_DIR (or the store option `path`) to a writable location.',
        cause: error,
      });
    }
    try {
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 10_000))}`);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.durable === false ? 'NORMAL' : 'FULL'}`);
      migrate(this.db, this.path);
      this.statements = this.prepare();
    } catch (error) {
      this.db.close();
      if (isStateStoreError(error)) throw error;
      throw new StateStoreError(`Cannot use the state database ${this.path}: ${messageOf(error)}`, {
        fix: 'The file is not an llem state database or is damaged; move it aside.',
        cause: error,
      });
    }
  }

  private prepare() {
    const db = this.db;
    return {
      get: db.prepare<[string], Row>('SELECT id, data FROM experiments WHERE id = ?'),
      upsert: db.prepare(
        `INSERT INTO experiments (id, config_hash, phase, failed, study_id, last_updated, revision, data)
         VALUES (@id, @configHash, @phase, @failed, @studyId, @lastUpdated, @revision, @data)
         ON CONFLICT (id) DO UPDATE SET config_hash = excluded.config_hash, phase = excluded.phase,
           failed = excluded.failed, study_id = excluded.study_id, last_updated = excluded.last_updated,
           revision = excluded.revision, data = excluded.data`,
      ),
      delete: db.prepare<[string]>('DELETE FROM experiments WHERE id = ?'),
      quarantine: db.prepare<[string, string]>(
        'INSERT INTO quarantine (id, data, moved_at) SELECT id, data, ? FROM experiments WHERE id = ?',
      ),
      byHash: db.prepare<[string], Row>(
        'SELECT id, data FROM experiments WHERE config_hash = ? ORDER BY last_updated DESC, id DESC LIMIT 1',
      ),
    };
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
    const id = sanitizeExperimentId(experimentId);
    return this.guard('read', () => this.parseRow(this.statements.get.get(id)));
  }

  async save(state: ExperimentState): Promise<ExperimentState> {
    this.assertOpen();
    return this.write(state, 'save');
  }

  async delete(experimentId: string): Promise<boolean> {
    this.assertOpen();
    const id = sanitizeExperimentId(experimentId);
    return this.guard('delete', () => this.statements.delete.run(id).changes > 0);
  }

  /** Moves the row, verbatim, into the `quarantine` table in one transaction. */
  async quarantine(experimentId: string): Promise<string> {
    this.assertOpen();
    const id = sanitizeExperimentId(experimentId);
    const move = this.db.transaction(() => {
      const moved = this.statements.quarantine.run(new Date().toISOString(), id);
      if (moved.changes === 0)
        throw new StateStoreError(`No state record '${id}' in ${this.path} to quarantine.`);
      this.statements.delete.run(id);
      return moved.lastInsertRowid;
    });
    const rowid = this.guard('quarantine', () => move.immediate());
    return `${this.path} (table quarantine, rowid ${rowid}, id '${id}')`;
  }

  async list(filter: StateFilter = {}, options: ListOptions = {}): Promise<ExperimentState[]> {
    this.assertOpen();
    if (filter.configHash !== undefined) assertConfigHash(filter.configHash);
    const conditions: Array<[string, string, unknown]> = [
      ['phase', 'phase', filter.phase],
      ['failed', 'failed', filter.failed === undefined ? undefined : filter.failed ? 1 : 0],
      ['study_id', 'studyId', filter.studyId],
      ['config_hash', 'configHash', filter.configHash],
    ];
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    for (const [column, name, value] of conditions) {
      if (value === undefined) continue;
      where.push(`${column} = @${name}`);
      params[name] = value;
    }
    const sql = `SELECT id, data FROM experiments ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    const rows = this.guard('list', () => this.db.prepare<[Record<string, unknown>], Row>(sql).all(params));
    const states: ExperimentState[] = [];
    for (const row of rows) {
      try {
        states.push(this.parseRow(row)!);
      } catch (error) {
        if (!options.onCorrupt || !isStateStoreError(error)) throw error;
        options.onCorrupt(error);
      }
    }
    return states;
  }

  async findByConfigHash(configHash: string): Promise<ExperimentState | null> {
    this.assertOpen();
    assertConfigHash(configHash);
    return this.guard('read', () => this.parseRow(this.statements.byHash.get(configHash)));
  }

  async cleanupStale(): Promise<string[]> {
    this.assertOpen();
    return cleanupStaleStates(this, this.env);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private write(input: ExperimentState, mode: 'create' | 'save'): ExperimentState {
    const state = assertStorableState(input);
    const id = state.experimentId;
    const transaction = this.db.transaction(() => {
      const next = nextRevision(this.parseRow(this.statements.get.get(id)), state, mode, this.path);
      this.statements.upsert.run({
        id,
        configHash: next.configHash,
        phase: next.phase,
        failed: next.failed ? 1 : 0,
        studyId: next.studyId,
        // Normalised so that ORDER BY compares instants, whatever precision the string had.
        lastUpdated: new Date(next.lastUpdated).toISOString(),
        revision: next.revision,
        data: JSON.stringify(next),
      });
      return next;
    });
    return this.guard('write', () => transaction.immediate());
  }

  private parseRow(row: Row | undefined): ExperimentState | null {
    if (!row) return null;
    return parseStoredState(row.data, `${this.path} (table experiments, row id '${row.id}')`, row.id);
  }

  /** Our own errors pass through; SQLite's (busy, I/O, full disk) become a StateStoreError naming the file. */
  private guard<T>(action: string, body: () => T): T {
    try {
      return body();
    } catch (error) {
      if (isStateStoreError(error) || isConfigError(error)) throw error;
      throw new StateStoreError(`Cannot ${action} state in ${this.path}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StateStoreError(`The state database ${this.path} is closed.`);
  }
}

export async function createSqliteStateStore(
  options: SqliteStateStoreOptions = {},
): Promise<SqliteStateStore> {
  return new SqliteStateStore(options);
}
