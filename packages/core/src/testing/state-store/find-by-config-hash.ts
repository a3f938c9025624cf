/** The contract, findByConfigHash: how a run is found again by what it measures. */
import { expect, it } from 'vitest';
import { isConfigError } from '../../errors.js';
import { transition } from '../../state/experiment-state.js';
import { expectRejection } from '../rejection.js';
import { describeStorePart, HASH_A, HASH_B, type StateStoreContractPart } from './harness.js';

/** findByConfigHash: the most recently updated state with the hash, null for none, bad input refused. */
export const describeStateStoreFindByConfigHash: StateStoreContractPart = (name, factory) =>
  describeStorePart(name, 'findByConfigHash', factory, (t) => {
    it('returns the most recently updated state with the hash', async () => {
      await t.store.create('old', HASH_A);
      await t.store.create('other', HASH_B);
      const newer = await t.store.create('newer', HASH_A);
      expect(
        await t.store.findByConfigHash(HASH_A),
        'findByConfigHash must return the most recently updated state with the hash (by lastUpdated, from the clock it was given): resuming picks up the latest attempt, not an older one',
      ).toEqual(newer);
      const old = (await t.store.load('old'))!;
      const touched = await t.store.save(transition(old, 'measuring', t.clock));
      expect(
        await t.store.findByConfigHash(HASH_A),
        'a save must make its state the most recent for its hash: "most recent" follows updates, not creation order',
      ).toEqual(touched);
    });

    it('returns null for an unknown hash', async () => {
      await t.store.create('exp-1', HASH_A);
      expect(
        await t.store.findByConfigHash('0123456789abcdef'),
        'findByConfigHash of a hash no state has must return null, not throw: a new configuration is simply not measured yet',
      ).toBeNull();
    });

    it('follows a change of hash: the old hash no longer finds the state', async () => {
      const created = await t.store.create('exp-1', HASH_A);
      const moved = await t.store.save({ ...created, configHash: HASH_B });
      expect(
        await t.store.findByConfigHash(HASH_A),
        'after a save changed its hash, a state must no longer be found by the old hash: a stale index would reuse a result for a configuration it did not measure',
      ).toBeNull();
      expect(
        await t.store.findByConfigHash(HASH_B),
        'after a save changed its hash, a state must be found by the new hash',
      ).toEqual(moved);
    });

    it('rejects a malformed hash with ConfigError', async () => {
      await expectRejection(
        t.store.findByConfigHash('../../etc/passwd'),
        'findByConfigHash of something that is not a 16-hex-digit hash must reject with a ConfigError (isConfigError): a hash may become a file or query key, and bad input is a usage error (exit 2), not a crash',
        isConfigError,
      );
    });
  });
