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
  // 2: corrupt rows moved aside by quarantine(), kept verbatim.
  `CREATE TABLE quarantine (
     id TEXT NOT NULL,
     data TEXT NOT NULL,
     moved_at TEXT NOT NULL
   ) STRICT;`,
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database to the latest version in one IMMEDIATE transaction (all or nothing);
 * refuses a database newer than this code. Returns the version it found.
 */
export function migrate(
  db: Database.Database,
  where: string,
  migrations: readonly string[] = MIGRATIONS,
): number {
  const latest = migrations.length;
  const run = db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT');
    const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    const current = row?.version ?? 0;
    if (current > latest) {
      throw new StateStoreError(
        `State database ${where} has schema version ${current}, newer than this llem understands (${latest}).`,
        { fix: 'Upgrade llem, or point LLEM_STATE_DIR at a separate directory for the older version.' },
      );
    }
    for (let version = current; version < latest; version++) db.exec(migrations[version]!);
    if (row) db.prepare('UPDATE schema_version SET version = ?').run(latest);
    else db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(latest);
    return current;
  });
  return run.immediate();
}
