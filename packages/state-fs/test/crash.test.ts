import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStoreCrashSafety } from '@llem/core/testing';
import { expect } from 'vitest';
import { createFsStateStore, type FsStateStore } from '../src/index.js';

describeStoreCrashSafety<FsStateStore>({
  name: 'FsStateStore',
  writer: new URL('./fixtures/save-loop.ts', import.meta.url),
  racingSaves: 200,
  open: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llem-fs-crash-'));
    const store = await createFsStateStore({ dir });
    return {
      store,
      target: dir,
      cleanup: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  afterKills: async ({ target: dir }) => {
    // Owner files of writers killed mid-acquire are swept when a store opens.
    const sweeper = await createFsStateStore({ dir });
    const leftovers = (await readdir(join(dir, '.locks'))).filter((name) => name.startsWith('.tmp-'));
    // Only owner files torn by a kill mid-write may stay (swept once old); never a readable dead one.
    for (const name of leftovers) {
      expect(() => JSON.parse(readFileSync(join(dir, '.locks', name), 'utf8'))).toThrow();
    }
    await sweeper.close();
  },
  afterRace: async ({ target: dir }) => {
    // Every racing writer let go of the record's lock.
    expect((await readdir(join(dir, '.locks'))).filter((name) => name.startsWith('shared'))).toEqual([]);
  },
});
