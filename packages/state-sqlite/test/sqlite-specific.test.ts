import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStoreError } from '@llem/core';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  createSqliteStateStore,
  DEFAULT_DB_NAME,
  LATEST_SCHEMA_VERSION,
  MIGRATIONS,
  migrate,
  SqliteStateStore,
} from '../src/index.js';

describe('SqliteStateStore specifics', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llem-sqlite-'));
    path = join(dir, 'state.sqlite');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const inspect = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(path, { readonly: true });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };

  it('opens in WAL mode with the schema at the latest version', async () => {
    const store = await createSqliteStateStore({ path });
    await store.close();
    inspect((db) => {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT version FROM schema_version').all()).toEqual([
        { version: LATEST_SCHEMA_VERSION },
      ]);
    });
  });

  it('reopening an up-to-date database keeps its rows and its single version row', async () => {
    const first = await createSqliteStateStore({ path });
    const saved = await first.create('exp-1', 'aaaaaaaaaaaaaaaa');
    await first.close();
    const second = await createSqliteStateStore({ path });
    expect(await second.load('exp-1')).toEqual(saved);
    await second.close();
    inspect((db) => expect(db.prepare('SELECT COUNT(*) AS n FROM schema_version').get()).toEqual({ n: 1 }));
  });

  it('runs later migrations forward on an existing database and keeps its rows', async () => {
    const store = await createSqliteStateStore({ path });
    const saved = await store.create('exp-1', 'aaaaaaaaaaaaaaaa');
    await store.close();
    const next = [...MIGRATIONS, 'ALTER TABLE experiments ADD COLUMN note TEXT'];
    const db = new Database(path);
    expect(migrate(db, path, next)).toBe(LATEST_SCHEMA_VERSION);
    expect(migrate(db, path, next)).toBe(LATEST_SCHEMA_VERSION + 1);
    expect(db.prepare('SELECT note, data FROM experiments').all()).toEqual([
      { note: null, data: JSON.stringify(saved) },
    ]);
    db.close();
    // ...and this llem, which knows only the earlier migrations, now refuses the newer database.
    expect(() => new SqliteStateStore({ path })).toThrow(
      `schema version ${LATEST_SCHEMA_VERSION + 1}, newer`,
    );
  });

  it('a failing migration leaves the database at its old version', async () => {
    const store = await createSqliteStateStore({ path });
    await store.close();
    const db = new Database(path);
    const broken = [...MIGRATIONS, 'CREATE TABLE extra (a); THIS IS NOT SQL'];
    expect(() => migrate(db, path, broken)).toThrow();
    expect(db.prepare('SELECT version FROM schema_version').get()).toEqual({
      version: LATEST_SCHEMA_VERSION,
    });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'extra'").all()).toEqual([]);
    db.close();
  });

  it('refuses a database from a newer llem with a StateStoreError that says so', async () => {
    const db = new Database(path);
    db.exec(
      'CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (99);',
    );
    db.close();
    expect(() => new SqliteStateStore({ path })).toThrow(StateStoreError);
    expect(() => new SqliteStateStore({ path })).toThrow(/schema version 99, newer/);
  });

  it('a file that is not a database is a StateStoreError naming it', async () => {
    await writeFile(path, 'this is not sqlite, just text that is long enough to have a header '.repeat(20));
    expect(() => new SqliteStateStore({ path })).toThrow(StateStoreError);
    expect(() => new SqliteStateStore({ path })).toThrow(path);
  });

  it('findByConfigHash is answered from the config-hash index', async () => {
    const store = await createSqliteStateStore({ path });
    await store.close();
    const plan = inspect((db) =>
      db
        .prepare(
          'EXPLAIN QUERY PLAN SELECT id, data FROM experiments WHERE config_hash = ? ORDER BY last_updated DESC, id DESC LIMIT 1',
        )
        .all('aaaaaaaaaaaaaaaa'),
    ) as { detail: string }[];
    expect(plan.map((row) => row.detail).join('\n')).toMatch(/USING INDEX experiments_by_hash/);
  });

  it('a corrupt row is named by file and id', async () => {
    const store = await createSqliteStateStore({ path });
    await store.create('exp-1', 'aaaaaaaaaaaaaaaa');
    const db = new Database(path);
    db.prepare("UPDATE experiments SET data = '{oops' WHERE id = 'exp-1'").run();
    db.close();
    await expect(store.load('exp-1')).rejects.toThrow(`${path} (table experiments, row id 'exp-1')`);
    await store.close();
  });

  it('defaults to state.sqlite in $LLEM_STATE_DIR', async () => {
    vi.stubEnv('LLEM_STATE_DIR', join(dir, 'from-env'));
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    const store = await createSqliteStateStore();
    expect(store.path).toBe(join(dir, 'from-env', DEFAULT_DB_NAME));
    await store.create('exp-1');
    await store.close();
  });
});
