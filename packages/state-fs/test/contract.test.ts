import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStateStoreContract } from '@llem/core/testing';
import { createFsStateStore } from '../src/index.js';

describeStateStoreContract('FsStateStore', async (options) => {
  const dir = await mkdtemp(join(tmpdir(), 'llem-fs-contract-'));
  const store = await createFsStateStore({ dir, ...options });
  return {
    store,
    dir,
    writeRaw: (id, text) => writeFile(join(dir, `${id}.json`), text),
    reopen: () => createFsStateStore({ dir, ...options }),
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
