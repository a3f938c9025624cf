import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStoreCrashSafety } from '@llem/core/testing';
import { createSqliteStateStore } from '../src/index.js';

// A killed writer's open transaction is rolled back; the database takes writes at once.
describeStoreCrashSafety({
  name: 'SqliteStateStore',
  writer: new URL('./fixtures/save-loop.ts', import.meta.url),
  external: ['better-sqlite3'],
  racingSaves: 1000,
  open: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llem-sqlite-crash-'));
    const db = join(dir, 'state.sqlite');
    const store = await createSqliteStateStore({ path: db });
    return {
      store,
      target: db,
      cleanup: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
});
