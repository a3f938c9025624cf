/** The contract, list and its filters. */
import { expect, it } from 'vitest';
import { type ExperimentState, markFailed, transition } from '../../state/experiment-state.js';
import { describeStorePart, HASH_A, HASH_B, type StateStoreContractPart } from './harness.js';

const ids = (states: ExperimentState[]) => states.map((s) => s.experimentId).sort();

/** list: every state, or those matching phase, failed, studyId and configHash (combined with AND). */
export const describeStateStoreList: StateStoreContractPart = (name, factory) =>
  describeStorePart(name, 'list', factory, (t) => {
    /** One state per phase, two studies, two hashes, one of them failed. */
    const seed = async () => {
      const { store, clock } = t;
      const a = await store.create('a-init', HASH_A, { studyId: 's1' });
      const b = await store.save(
        transition(await store.create('b-measuring', HASH_A, { studyId: 's1' }), 'measuring', clock),
      );
      const c = await store.save(
        markFailed(
          transition(await store.create('c-failed', HASH_B, { studyId: 's2' }), 'measuring', clock),
          'x',
          'error',
          clock,
        ),
      );
      const d = await store.save(
        transition(transition(await store.create('d-done', HASH_B), 'measuring', clock), 'done', clock),
      );
      return { a, b, c, d };
    };

    it('list without a filter returns every state', async () => {
      const { a, b, c, d } = await seed();
      const all = await t.store.list();
      expect(
        ids(all),
        'list() without a filter must return every stored state once: `llem status` and resuming a study read the store through it',
      ).toEqual(['a-init', 'b-measuring', 'c-failed', 'd-done']);
      expect(
        all,
        'list must return each state as saved (latest revision, every field), not a summary or an older copy',
      ).toEqual(expect.arrayContaining([a, b, c, d]));
    });

    it('list of an empty store is empty', async () => {
      expect(
        await t.store.list(),
        'list of a fresh store must be [], not throw: a first run starts from an empty store',
      ).toEqual([]);
    });

    it('list filters by phase', async () => {
      await seed();
      expect(
        ids(await t.store.list({ phase: 'measuring' })),
        'list({phase}) must return exactly the states in that phase, failed ones included: a failed state keeps the phase it failed in',
      ).toEqual(['b-measuring', 'c-failed']);
      expect(
        ids(await t.store.list({ phase: 'done' })),
        'list({phase: done}) must return exactly the done states',
      ).toEqual(['d-done']);
    });

    it('list filters by failed', async () => {
      await seed();
      expect(
        ids(await t.store.list({ failed: true })),
        'list({failed: true}) must return exactly the failed states: `llem status --failed` and retries read it',
      ).toEqual(['c-failed']);
      expect(
        ids(await t.store.list({ failed: false })),
        'list({failed: false}) must return exactly the states that are not failed, whatever their phase',
      ).toEqual(['a-init', 'b-measuring', 'd-done']);
    });

    it('list filters by studyId and configHash, and combines filters', async () => {
      await seed();
      expect(
        ids(await t.store.list({ studyId: 's1' })),
        "list({studyId}) must return exactly that study's states: a study's summary is built from it",
      ).toEqual(['a-init', 'b-measuring']);
      expect(
        ids(await t.store.list({ configHash: HASH_B })),
        'list({configHash}) must return exactly the states with that hash',
      ).toEqual(['c-failed', 'd-done']);
      expect(
        ids(await t.store.list({ configHash: HASH_B, failed: false })),
        'filters must combine with AND: a store that applies only one filter returns states the caller did not ask for',
      ).toEqual(['d-done']);
      expect(
        ids(await t.store.list({ studyId: 's1', phase: 'initialising' })),
        'studyId and phase must combine with AND',
      ).toEqual(['a-init']);
    });
  });
