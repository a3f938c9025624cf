import { StateStoreError } from '@llem/core';
import type Database from 'better-sqlite3';

/**
 * Forward-only schema migrations: entry `i` takes the database from version `i` to `i + 1`.
 * Never edit a shipped entry; append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE experiments (
     id TEXT PRIMARY KEY NOT NULL,
     config_hash TEXT,
     phase TEXT NOT NULL,
     failed INTEGER NOT NULL,
     study_id TEXT,
     last_updated TEXT NOT NULL,
     revision INTEGER NOT NULL,
     data TEXT NOT NULL
   ) STRICT;
   CREATE INDEX experiments_by_hash ON experiments (config_hash, last_updated);
   CREATE INDEX experiments_by_study ON experiments (study_id);`,
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to LATEST_SCHEMA_VERSION in one IMMEDIATE transaction; refuses a newer one. */
export function migrate(db: Database.Database, where: string): number {
  const run = db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT');
    const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    const current = row?.version ?? 0;
    if (current > LATEST_SCHEMA_VERSION) {
      throw new StateStoreError(
        `State database ${where} has schema version ${current}, newer than this llem understands (${LATEST_SCHEMA_VERSION}).`,
        { fix: 'Upgrade llem, or point LLEM_STATE_DIR at a separate directory for the older version.' },
      );
    }
    for (let version = current; version < LATEST_SCHEMA_VERSION; version++) db.exec(MIGRATIONS[version]!);
    if (row) db.prepare('UPDATE schema_version SET version = ?').run(LATEST_SCHEMA_VERSION);
    else db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(LATEST_SCHEMA_VERSION);
    return current;
  });
  return run.immediate();
}
