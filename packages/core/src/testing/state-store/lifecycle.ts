/** The contract, lifecycle: create, load, save (round trip), delete, a reopened store, close. */
import { expect, it } from 'vitest';
import { isLlemError, isStateStoreError } from '../../errors.js';
import {
  createState,
  type ExperimentState,
  markFailed,
  STATE_SCHEMA_VERSION,
  transition,
  withProcess,
} from '../../state/experiment-state.js';
import { expectRejection } from '../rejection.js';
import { describeStorePart, HASH_A, HASH_B, type StateStoreContractPart } from './harness.js';

/**
 * A record's life: create / load / save (what goes in comes out, field for field, each save one
 * revision), delete (removes the record and frees the id), close (idempotent, then every method
 * fails as a StateStoreError).
 */
export const describeStateStoreLifecycle: StateStoreContractPart = (name, factory) => {
  describeStorePart(name, 'create / load / save', factory, (t) => {
    it('create stores a fresh initialising state and returns it', async () => {
      const state = await t.store.create('exp-1', HASH_A, { studyId: 'study-1', cycle: 2 });
      expect(
        state,
        'create must return a fresh initialising, not failed state with the hash, study, cycle and current schemaVersion it was given: the orchestrator claims runs from it',
      ).toMatchObject({
        experimentId: 'exp-1',
        phase: 'initialising',
        failed: false,
        configHash: HASH_A,
        studyId: 'study-1',
        cycle: 2,
        schemaVersion: STATE_SCHEMA_VERSION,
      });
      expect(
        state.createdAt,
        "createdAt must come from the clock the suite passed in (options.clock), not the system clock: stale detection and 'most recent' depend on it",
      ).toBe('2026-01-01T00:00:00.000Z');
      expect(
        await t.store.load('exp-1'),
        'load after create must return exactly what create returned: the record on disk is the one the caller holds',
      ).toEqual(state);
    });

    it('create records the owning process and attempt in the same write', async () => {
      const state = await t.store.create('exp-owned', HASH_A, {
        ownerPid: 4242,
        hostName: 'node-a',
        attempt: 1,
      });
      expect(
        state,
        'create must store ownerPid, hostName and attempt in the record it writes: a claim made in two writes leaves an unowned record a crash in between cannot explain',
      ).toMatchObject({
        ownerPid: 4242,
        hostName: 'node-a',
        attempt: 1,
        phase: 'initialising',
      });
      expect(
        await t.store.load('exp-owned'),
        'load must return the owner fields create was given: another process reads them to tell a live claim from a dead one',
      ).toEqual(state);
    });

    it('load returns null for an absent record', async () => {
      expect(
        await t.store.load('never-created'),
        'load of an id never created must return null, not throw: absence is how a run is known to be new',
      ).toBeNull();
    });

    it('create fails when the id already exists, leaving the record as it was', async () => {
      const first = await t.store.create('exp-1', HASH_A);
      await expectRejection(
        t.store.create('exp-1', HASH_B),
        'create of an existing id must reject with a StateStoreError (isStateStoreError): create is the atomic claim, two processes must not both win it',
        isStateStoreError,
      );
      expect(
        await t.store.load('exp-1'),
        'a refused create must leave the existing record untouched: the first claimer still owns it',
      ).toEqual(first);
    });

    it('save round-trips every field and bumps the revision by one', async () => {
      const created = await t.store.create('exp-1', HASH_A, { studyId: 's', cycle: 0 });
      const changed = withProcess(transition(created, 'measuring', t.clock), 4242, t.clock, 'host-x');
      const saved = await t.store.save({ ...changed, attempt: 3 });
      expect(
        saved.revision,
        'save must return the state with revision + 1: the revision is what the next save is checked against',
      ).toBe(created.revision + 1);
      expect(
        saved,
        'save must return every field it was given unchanged but for the revision: a store that drops or rewrites fields loses state',
      ).toEqual({ ...changed, attempt: 3, revision: created.revision + 1 });
      expect(
        await t.store.load('exp-1'),
        'load after save must return what save returned: the stored record is the saved one',
      ).toEqual(saved);
    });

    it('save of a new state (revision 0) stores it', async () => {
      const fresh = createState('exp-new', HASH_A, { clock: t.clock });
      const saved = await t.store.save(fresh);
      expect(
        saved.revision,
        'save of a revision-0 state with no stored record must store it as revision 1: save can create as well as update',
      ).toBe(1);
      expect(await t.store.load('exp-new'), 'a revision-0 save must be readable back by load').toEqual(saved);
    });

    it('markFailed keeps the phase through a save', async () => {
      const created = await t.store.create('exp-1', HASH_A);
      const measuringState = await t.store.save(transition(created, 'measuring', t.clock));
      const failed = await t.store.save(markFailed(measuringState, 'boom', 'error', t.clock));
      expect(
        await t.store.load('exp-1'),
        'a failed state must keep its phase, failed flag and message through save and load: the phase says where it failed, the message why',
      ).toMatchObject({
        phase: 'measuring',
        failed: true,
        errorMessage: 'boom',
      });
      expect(failed.revision, 'saving a failure is one revision like any other save').toBe(
        measuringState.revision + 1,
      );
    });

    it('save refuses an invalid state and stores nothing', async () => {
      const bad = {
        ...createState('exp-bad', HASH_A, { clock: t.clock }),
        phase: 'exploded',
      } as unknown as ExperimentState;
      await expectRejection(
        t.store.save(bad),
        'save of a state that fails the schema must reject with an LlemError (isLlemError): a store must never write a record it could not read back',
        isLlemError,
      );
      expect(
        await t.store.load('exp-bad'),
        'a refused save must store nothing: a half-accepted invalid record would break every later load',
      ).toBeNull();
    });

    it('a reopened store sees what was saved', async (context) => {
      if (!t.h.reopen) return context.skip();
      const saved = await t.store.save(
        transition(await t.store.create('exp-1', HASH_A), 'measuring', t.clock),
      );
      const again = await t.h.reopen();
      try {
        expect(
          await again.load('exp-1'),
          'a second store on the same location must load what the first saved: the next llem process resumes from it',
        ).toEqual(saved);
        expect(
          await again.findByConfigHash(HASH_A),
          'a second store on the same location must find saved states by config hash: resuming a study looks runs up by hash',
        ).toEqual(saved);
      } finally {
        await again.close();
      }
    });
  });

  describeStorePart(name, 'delete', factory, (t) => {
    it('delete removes a record and reports whether one existed', async () => {
      await t.store.create('exp-1', HASH_A);
      expect(await t.store.delete('exp-1'), 'delete of an existing record must return true').toBe(true);
      expect(await t.store.load('exp-1'), 'a deleted record must not load any more').toBeNull();
      expect(
        await t.store.findByConfigHash(HASH_A),
        'a deleted record must not be found by its config hash: a stale index entry would resurrect it',
      ).toBeNull();
      expect(
        await t.store.delete('exp-1'),
        'delete of an absent record must return false, not throw: callers tell "deleted" from "was not there"',
      ).toBe(false);
    });

    it('an id can be created again after delete', async () => {
      await t.store.create('exp-1', HASH_A);
      await t.store.delete('exp-1');
      const again = await t.store.create('exp-1', HASH_B);
      expect(
        await t.store.load('exp-1'),
        'create after delete must succeed and store the new record: a deleted id must not stay reserved',
      ).toEqual(again);
    });
  });

  describeStorePart(name, 'close', factory, (t) => {
    it('every method fails with StateStoreError after close; close twice is fine', async () => {
      const store = t.store;
      await store.create('exp-1', HASH_A);
      await store.close();
      await store.close();
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['create', () => store.create('exp-2', HASH_A)],
        ['load', () => store.load('exp-1')],
        ['save', () => store.save(createState('exp-3', HASH_A, { clock: t.clock }))],
        ['delete', () => store.delete('exp-1')],
        ['list', () => store.list()],
        ['findByConfigHash', () => store.findByConfigHash(HASH_A)],
        ['cleanupStale', () => store.cleanupStale()],
      ];
      for (const [method, call] of calls)
        await expectRejection(
          call(),
          `${method} after close must reject with a StateStoreError (isStateStoreError): a closed store that still answers hides a use-after-close, and a crash of another kind is not classified`,
          isStateStoreError,
        );
    });
  });
};
