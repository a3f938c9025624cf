/** The contract, revisions and conflicts: a save is checked against the stored revision. */
import { expect, it } from 'vitest';
import { isStateConflictError } from '../../errors.js';
import { createState, type ExperimentState, markFailed, transition } from '../../state/experiment-state.js';
import { expectRejection } from '../rejection.js';
import { describeStorePart, HASH_A, HASH_B, type StateStoreContractPart } from './harness.js';

/**
 * Optimistic revisions: a save whose revision is not the stored one is a StateConflictError and
 * changes nothing, however many writers race, in one store or in two on the same location.
 */
export const describeStateStoreRevisions: StateStoreContractPart = (name, factory) =>
  describeStorePart(name, 'revisions', factory, (t) => {
    it('a save with an old revision throws StateConflictError naming both revisions', async () => {
      const created = await t.store.create('exp-1', HASH_A);
      await t.store.save(transition(created, 'measuring', t.clock));
      const error = await t.store
        .save(markFailed(created, 'late', 'error', t.clock))
        .catch((e: unknown) => e);
      expect(
        error,
        'save must refuse a stale revision with a StateConflictError (isStateConflictError): two writers would otherwise lose an update, and the orchestrator reads a conflict as a lost race',
      ).toSatisfy(isStateConflictError);
      expect(
        error,
        'a StateConflictError must name the experiment, the stored revision and the attempted one: the message is all a user has to find the other writer',
      ).toMatchObject({ experimentId: 'exp-1', storedRevision: 2, attemptedRevision: 1 });
    });

    it('of two writers holding the same revision, the second loses and the first one is kept', async () => {
      await t.store.create('exp-1', HASH_A);
      const writerA = (await t.store.load('exp-1'))!;
      const writerB = (await t.store.load('exp-1'))!;
      const savedA = await t.store.save(transition(writerA, 'measuring', t.clock));
      await expectRejection(
        t.store.save(markFailed(writerB, 'b', 'error', t.clock)),
        "the second of two writers that loaded the same revision must get a StateConflictError (isStateConflictError): last-writer-wins would silently drop the first writer's update",
        isStateConflictError,
      );
      expect(
        await t.store.load('exp-1'),
        "a conflicting save must leave the first writer's record in place: the loser changes nothing",
      ).toEqual(savedA);
    });

    it('of concurrent saves of one revision exactly one wins', async () => {
      const created = await t.store.create('exp-1', HASH_A);
      const attempts = Array.from({ length: 8 }, (_, i) => t.store.save({ ...created, attempt: i + 1 }));
      const results = await Promise.allSettled(attempts);
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(
        won,
        'of 8 concurrent saves of one revision exactly one must succeed: the revision check and the write must be one atomic step, or two claims both win',
      ).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected')
          expect(
            r.reason,
            'every losing concurrent save must be a StateConflictError (isStateConflictError), not another error: the orchestrator retries or backs off only on a conflict',
          ).toSatisfy(isStateConflictError);
      const stored = await t.store.load('exp-1');
      expect(
        stored,
        'the stored record must be the one the winning save returned: a loser must not have written anything',
      ).toEqual((won[0] as PromiseFulfilledResult<ExperimentState>).value);
    });

    it('a revision-0 save over an existing record is a conflict', async () => {
      await t.store.create('exp-1', HASH_A);
      await expectRejection(
        t.store.save(createState('exp-1', HASH_B, { clock: t.clock })),
        'a revision-0 save where a record exists must be a StateConflictError (isStateConflictError): revision 0 means "nothing stored yet", and overwriting would drop the existing run',
        isStateConflictError,
      );
    });

    it('two stores on one location see each other and never lose an update', async (context) => {
      if (!t.h.reopen) return context.skip();
      const other = await t.h.reopen();
      try {
        const created = await t.store.create('exp-1', HASH_A);
        const viaOther = await other.save(transition(created, 'measuring', t.clock));
        await expectRejection(
          t.store.save(markFailed(created, 'x', 'error', t.clock)),
          "a save with a revision another store on the same location already moved past must be a StateConflictError (isStateConflictError): two llem processes share one state directory, and no cache may hide the other one's write",
          isStateConflictError,
        );
        expect(
          await t.store.load('exp-1'),
          "load must return the other store's newer record, not a cached copy: a stale read leads to a lost update",
        ).toEqual(viaOther);
      } finally {
        await other.close();
      }
    });
  });
