import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStateStoreContract } from '@llem/core/testing';
import Database from 'better-sqlite3';
import { createSqliteStateStore } from '../src/index.js';

describeStateStoreContract('SqliteStateStore', async (options) => {
  const dir = await mkdtemp(join(tmpdir(), 'llem-sqlite-contract-'));
  const path = join(dir, 'state.sqlite');
  const store = await createSqliteStateStore({ path, ...options });
  return {
    store,
    dir,
    // A second connection, as a hand edit or a foreign tool would write it.
    writeRaw: async (id, text) => {
      const db = new Database(path);
      try {
        db.prepare('UPDATE experiments SET data = ? WHERE id = ?').run(text, id);
      } finally {
        db.close();
      }
    },
    reopen: () => createSqliteStateStore({ path, ...options }),
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
