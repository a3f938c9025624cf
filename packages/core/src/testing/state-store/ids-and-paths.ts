/** The contract, ids and paths: what reaches a file or row name, and what the store's folder may hold. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { isConfigError } from '../../errors.js';
import { TEMP_PREFIX } from '../../fs/atomic-write.js';
import { createState, type ExperimentState } from '../../state/experiment-state.js';
import { expectRejection } from '../rejection.js';
import { describeStorePart, HASH_A, type StateStoreContractPart } from './harness.js';

const UNSAFE_IDS = ['', '../escape', 'a/b', 'a\\b', '/abs', 'nul\0byte', '.hidden', 'x'.repeat(129)];

const ids = (states: ExperimentState[]) => states.map((s) => s.experimentId).sort();

/**
 * Unsafe ids (empty, path separators, `..`, absolute, NUL, hidden, too long) are a ConfigError
 * from every method before anything is written; temp files an interrupted atomic write left in
 * the store's folder are never records.
 */
export const describeStateStoreIdsAndPaths: StateStoreContractPart = (name, factory) =>
  describeStorePart(name, 'ids and paths', factory, (t) => {
    it('unsafe ids are rejected with ConfigError by every method', async () => {
      for (const id of UNSAFE_IDS) {
        const shown = JSON.stringify(id.length > 20 ? `${id.slice(0, 20)}…` : id);
        const rule = (method: string) =>
          `${method}(${shown}) must reject with a ConfigError (isConfigError) before touching storage: an id becomes a file or row name, and one with a path separator, '..' or NUL escapes the state directory`;
        await expectRejection(t.store.create(id, HASH_A), rule('create'), isConfigError);
        await expectRejection(t.store.load(id), rule('load'), isConfigError);
        await expectRejection(t.store.delete(id), rule('delete'), isConfigError);
        const forged = { ...createState('safe', HASH_A, { clock: t.clock }), experimentId: id };
        await expectRejection(t.store.save(forged), rule('save'), isConfigError);
      }
      expect(
        await t.store.list(),
        'after every unsafe id was refused the store must still be empty: a refused call must not have written anything',
      ).toEqual([]);
    });

    it('list never shows temp files left by an interrupted write', async (context) => {
      if (!t.h.dir) return context.skip();
      await t.store.create('real', HASH_A);
      const ghost = JSON.stringify({ ...createState('ghost', HASH_A, { clock: t.clock }), revision: 1 });
      await writeFile(join(t.h.dir, `${TEMP_PREFIX}ghost.json.1.abcd`), ghost);
      await writeFile(join(t.h.dir, `${TEMP_PREFIX}real.json.1.abcd`), '{"torn');
      expect(
        ids(await t.store.list()),
        `list must ignore ${TEMP_PREFIX}* temp files in the store's folder, complete or torn: they are writes a crash interrupted, never records, and a torn one must not make list fail`,
      ).toEqual(['real']);
      expect(
        await t.store.findByConfigHash(HASH_A),
        'findByConfigHash must ignore temp files too and find the real record',
      ).toMatchObject({ experimentId: 'real' });
    });
  });
