/** The contract, corruption and quarantine: bad records are named, reported and moved aside, never a crash. */
import { expect, it } from 'vitest';
import { type CorruptRecordError, isCorruptRecordError, isStateStoreError } from '../../errors.js';
import { STATE_SCHEMA_VERSION } from '../../state/experiment-state.js';
import { expectRejection } from '../rejection.js';
import { describeStorePart, HASH_A, HASH_B, type StateStoreContractPart } from './harness.js';

/**
 * Records the store did not write (torn, hand-edited, from a newer llem, another experiment's):
 * each is a StateStoreError naming the record from load, list and findByConfigHash; `list` with
 * `onCorrupt` reports them and returns the rest; they can be deleted, and quarantined when the
 * store can.
 */
export const describeStateStoreCorruption: StateStoreContractPart = (name, factory) =>
  describeStorePart(name, 'bad records', factory, (t) => {
    it('a corrupt record is a StateStoreError naming it, from load, list and findByConfigHash', async () => {
      await t.store.create('broken', HASH_A);
      await t.store.create('fine', HASH_B);
      await t.h.writeRaw('broken', '{"experimentId": "broken", "phase": ');
      await expectRejection(
        t.store.load('broken'),
        'load of a record that is not valid JSON must reject with a StateStoreError (isStateStoreError): a raw SyntaxError is an unclassified crash',
        isStateStoreError,
      );
      await expectRejection(
        t.store.load('broken'),
        'the error for a corrupt record must name the record: the user has to find which file or row to fix',
        /broken/,
      );
      await expectRejection(
        t.store.list(),
        'list without onCorrupt must reject naming the corrupt record: silently dropping it would hide a run',
        /broken/,
      );
      await expectRejection(
        t.store.findByConfigHash(HASH_A),
        'findByConfigHash that meets a corrupt candidate must reject with a StateStoreError (isStateStoreError): guessing past it could measure a run twice',
        isStateStoreError,
      );
    });

    it('list with onCorrupt reports corrupt records and returns the rest', async () => {
      await t.store.create('broken', HASH_A);
      const fine = await t.store.create('fine', HASH_B);
      await t.h.writeRaw('broken', 'not json at all');
      const reported: Error[] = [];
      expect(
        await t.store.list({}, { onCorrupt: (e) => reported.push(e) }),
        'list with onCorrupt must return every readable state and skip the corrupt one: `llem status` and `llem cleanup` must work around one bad record',
      ).toEqual([fine]);
      expect(
        reported,
        'list with onCorrupt must report each corrupt record exactly once: a skipped record must never go unmentioned',
      ).toHaveLength(1);
      expect(
        reported[0],
        'what onCorrupt receives must be a StateStoreError (isStateStoreError): callers classify it by brand',
      ).toSatisfy(isStateStoreError);
      expect(
        reported[0]?.message,
        'the reported error must name the corrupt record: the user has to find it',
      ).toMatch(/broken/);
    });

    it('a record that fails the schema is a StateStoreError naming it', async () => {
      const state = await t.store.create('odd', HASH_A);
      await t.h.writeRaw('odd', JSON.stringify({ ...state, phase: 'exploded' }));
      await expectRejection(
        t.store.load('odd'),
        'load of valid JSON that fails the state schema must reject with a StateStoreError (isStateStoreError): an unchecked record would drive the state machine into nonsense',
        isStateStoreError,
      );
      await expectRejection(
        t.store.load('odd'),
        'the error for a record that fails the schema must name the record',
        /odd/,
      );
    });

    it('a record from a newer schemaVersion is a StateStoreError that says so', async () => {
      const state = await t.store.create('future', HASH_A);
      await t.h.writeRaw(
        'future',
        JSON.stringify({ ...state, schemaVersion: STATE_SCHEMA_VERSION + 1, newField: 1 }),
      );
      await expectRejection(
        t.store.load('future'),
        'load of a record with a newer schemaVersion must reject with a StateStoreError (isStateStoreError): an older llem must not rewrite, and so downgrade, a newer record',
        isStateStoreError,
      );
      await expectRejection(
        t.store.load('future'),
        'the error for a newer record must say it is newer (or name the schema version): the fix is to upgrade llem, not to repair the record',
        /newer|schema ?version/i,
      );
    });

    it('a record that names another experiment is a StateStoreError', async () => {
      const state = await t.store.create('mine', HASH_A);
      await t.h.writeRaw('mine', JSON.stringify({ ...state, experimentId: 'someone-else' }));
      await expectRejection(
        t.store.load('mine'),
        "load of a record whose experimentId is not the id asked for must reject with a StateStoreError (isStateStoreError): a copied or misplaced record would hand one run another run's state",
        isStateStoreError,
      );
    });

    it('a corrupt record can still be deleted', async () => {
      await t.store.create('broken', HASH_A);
      await t.h.writeRaw('broken', '{');
      expect(
        await t.store.delete('broken'),
        'delete of a corrupt record must succeed and return true without reading it: deleting is how a user gets rid of it',
      ).toBe(true);
      expect(await t.store.load('broken'), 'a deleted corrupt record must not load any more').toBeNull();
    });

    it('a corrupt record reported by list names its id, and quarantine moves it aside, twice without overwriting', async (context) => {
      if (!t.store.quarantine) return context.skip();
      await t.store.create('broken', HASH_A);
      const fine = await t.store.create('fine', HASH_B);
      const places: string[] = [];
      for (let round = 0; round < 2; round++) {
        await t.store.create('broken', HASH_A).catch(() => undefined);
        await t.h.writeRaw('broken', `not json, round ${round}`);
        const reported: Error[] = [];
        await t.store.list({}, { onCorrupt: (e) => reported.push(e) });
        expect(
          reported,
          `round ${round}: list with onCorrupt must report the corrupt record exactly once`,
        ).toHaveLength(1);
        expect(
          reported[0],
          `round ${round}: a corrupt record must be reported as a CorruptRecordError (isCorruptRecordError): \`llem cleanup --quarantine\` quarantines only those`,
        ).toSatisfy(isCorruptRecordError);
        expect(
          (reported[0] as CorruptRecordError).recordId,
          `round ${round}: a CorruptRecordError must carry the record's id in recordId: quarantine is called with it`,
        ).toBe('broken');
        places.push(await t.store.quarantine('broken'));
        expect(
          await t.store.load('broken'),
          `round ${round}: a quarantined record must be out of the store's view: the experiment can run again`,
        ).toBeNull();
        expect(
          await t.store.list(),
          `round ${round}: after quarantine, list without onCorrupt must succeed with the other records intact`,
        ).toEqual([fine]);
      }
      expect(
        new Set(places).size,
        'quarantining the same id twice must put the records in two different places: quarantine never overwrites, the first bad record is evidence too',
      ).toBe(2);
      await expectRejection(
        t.store.quarantine('never-there'),
        'quarantine of an absent record must reject with a StateStoreError (isStateStoreError): reporting success would claim something was moved aside',
        isStateStoreError,
      );
    });
  });
