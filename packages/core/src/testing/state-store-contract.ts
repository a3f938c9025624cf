import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../clock.js';
import {
  ConfigError,
  CorruptRecordError,
  LlemError,
  StateConflictError,
  StateStoreError,
} from '../errors.js';
import { TEMP_PREFIX } from '../fs/atomic-write.js';
import {
  createState,
  type ExperimentState,
  markFailed,
  STATE_SCHEMA_VERSION,
  transition,
  withProcess,
} from '../state/experiment-state.js';
import { isProcessAlive } from '../state/liveness.js';
import type { StateStore } from '../state/store.js';

/** What the suite hands the factory: wire these into the store under test. */
export interface StateStoreContractOptions {
  clock: Clock;
  isProcessAlive: (pid: number) => boolean;
  hostName: string;
}

/** What the factory returns: a fresh, empty store plus hooks the suite needs. */
export interface StateStoreContractHarness {
  store: StateStore;
  /** Directory the store writes into, if it has one (the suite drops temp-looking files there). */
  dir?: string;
  /** Writes `text` verbatim as the stored record of `experimentId`, bypassing validation. */
  writeRaw(experimentId: string, text: string): Promise<void>;
  /** A second store on the same location (a new process would see the same). */
  reopen?(): Promise<StateStore>;
  /** Closes everything and removes what the harness created. */
  cleanup(): Promise<void>;
}

export type StateStoreContractFactory = (
  options: StateStoreContractOptions,
) => Promise<StateStoreContractHarness>;

/** A clock that moves one second per reading, so "most recent" is unambiguous and reproducible. */
export function steppingClock(startIso = '2026-01-01T00:00:00.000Z', stepMs = 1000): Clock {
  let next = Date.parse(startIso);
  return {
    now: () => {
      const date = new Date(next);
      next += stepMs;
      return date;
    },
    monotonicNs: () => BigInt(next) * 1_000_000n,
  };
}

const HASH_A = 'aaaaaaaaaaaaaaaa';
const HASH_B = 'bbbbbbbbbbbbbbbb';
const UNSAFE_IDS = ['', '../escape', 'a/b', 'a\\b', '/abs', 'nul\0byte', '.hidden', 'x'.repeat(129)];

/** A pid that certainly belonged to a process that has exited and been reaped. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  if (child.pid === undefined) throw new Error('could not spawn a short-lived process');
  return child.pid;
}

/** `kill(pid, 0)` as seen by an unprivileged user looking at another user's process. */
const epermKill = () => {
  throw Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
};

/**
 * The behavioural contract of a `StateStore`. Call it at the top level of a vitest file:
 * `describeStateStoreContract('FsStateStore', async (options) => ({ store, writeRaw, cleanup }))`.
 */
export function describeStateStoreContract(name: string, factory: StateStoreContractFactory): void {
  describe(`StateStore contract: ${name}`, () => {
    const harnesses: StateStoreContractHarness[] = [];
    let h: StateStoreContractHarness;
    let store: StateStore;
    let clock: Clock;

    const open = async (overrides: Partial<StateStoreContractOptions> = {}) => {
      const harness = await factory({ clock, isProcessAlive, hostName: hostname(), ...overrides });
      harnesses.push(harness);
      return harness;
    };

    /** Creates a state and moves it to measuring under `pid` on `host`. */
    const measuring = async (id: string, pid: number | null, host = hostname(), target = store) => {
      const created = await target.create(id, HASH_A);
      const started = transition(created, 'measuring', clock);
      return target.save(pid === null ? started : withProcess(started, pid, clock, host));
    };

    beforeEach(async () => {
      clock = steppingClock();
      h = await open();
      store = h.store;
    });

    afterEach(async () => {
      for (const harness of harnesses.splice(0)) await harness.cleanup();
    });

    describe('create / load / save', () => {
      it('create stores a fresh initialising state and returns it', async () => {
        const state = await store.create('exp-1', HASH_A, { studyId: 'study-1', cycle: 2 });
        expect(state).toMatchObject({
          experimentId: 'exp-1',
          phase: 'initialising',
          failed: false,
          configHash: HASH_A,
          studyId: 'study-1',
          cycle: 2,
          schemaVersion: STATE_SCHEMA_VERSION,
        });
        expect(state.createdAt).toBe('2026-01-01T00:00:00.000Z');
        expect(await store.load('exp-1')).toEqual(state);
      });

      it('create records the owning process and attempt in the same write', async () => {
        const state = await store.create('exp-owned', HASH_A, {
          ownerPid: 4242,
          hostName: 'node-a',
          attempt: 1,
        });
        expect(state).toMatchObject({
          ownerPid: 4242,
          hostName: 'node-a',
          attempt: 1,
          phase: 'initialising',
        });
        expect(await store.load('exp-owned')).toEqual(state);
      });

      it('load returns null for an absent record', async () => {
        expect(await store.load('never-created')).toBeNull();
      });

      it('create fails when the id already exists, leaving the record as it was', async () => {
        const first = await store.create('exp-1', HASH_A);
        await expect(store.create('exp-1', HASH_B)).rejects.toBeInstanceOf(StateStoreError);
        expect(await store.load('exp-1')).toEqual(first);
      });

      it('save round-trips every field and bumps the revision by one', async () => {
        const created = await store.create('exp-1', HASH_A, { studyId: 's', cycle: 0 });
        const changed = withProcess(transition(created, 'measuring', clock), 4242, clock, 'host-x');
        const saved = await store.save({ ...changed, attempt: 3 });
        expect(saved.revision).toBe(created.revision + 1);
        expect(saved).toEqual({ ...changed, attempt: 3, revision: created.revision + 1 });
        expect(await store.load('exp-1')).toEqual(saved);
      });

      it('save of a new state (revision 0) stores it', async () => {
        const fresh = createState('exp-new', HASH_A, { clock });
        const saved = await store.save(fresh);
        expect(saved.revision).toBe(1);
        expect(await store.load('exp-new')).toEqual(saved);
      });

      it('markFailed keeps the phase through a save', async () => {
        const created = await store.create('exp-1', HASH_A);
        const measuringState = await store.save(transition(created, 'measuring', clock));
        const failed = await store.save(markFailed(measuringState, 'boom', 'error', clock));
        expect(await store.load('exp-1')).toMatchObject({
          phase: 'measuring',
          failed: true,
          errorMessage: 'boom',
        });
        expect(failed.revision).toBe(measuringState.revision + 1);
      });

      it('save refuses an invalid state and stores nothing', async () => {
        const bad = {
          ...createState('exp-bad', HASH_A, { clock }),
          phase: 'exploded',
        } as unknown as ExperimentState;
        await expect(store.save(bad)).rejects.toBeInstanceOf(LlemError);
        expect(await store.load('exp-bad')).toBeNull();
      });

      it('a reopened store sees what was saved', async (context) => {
        if (!h.reopen) return context.skip();
        const saved = await store.save(transition(await store.create('exp-1', HASH_A), 'measuring', clock));
        const again = await h.reopen();
        try {
          expect(await again.load('exp-1')).toEqual(saved);
          expect(await again.findByConfigHash(HASH_A)).toEqual(saved);
        } finally {
          await again.close();
        }
      });
    });

    describe('revisions', () => {
      it('a save with an old revision throws StateConflictError naming both revisions', async () => {
        const created = await store.create('exp-1', HASH_A);
        await store.save(transition(created, 'measuring', clock));
        const error = await store.save(markFailed(created, 'late', 'error', clock)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StateConflictError);
        expect(error).toMatchObject({ experimentId: 'exp-1', storedRevision: 2, attemptedRevision: 1 });
      });

      it('of two writers holding the same revision, the second loses and the first one is kept', async () => {
        await store.create('exp-1', HASH_A);
        const writerA = (await store.load('exp-1'))!;
        const writerB = (await store.load('exp-1'))!;
        const savedA = await store.save(transition(writerA, 'measuring', clock));
        await expect(store.save(markFailed(writerB, 'b', 'error', clock))).rejects.toBeInstanceOf(
          StateConflictError,
        );
        expect(await store.load('exp-1')).toEqual(savedA);
      });

      it('of concurrent saves of one revision exactly one wins', async () => {
        const created = await store.create('exp-1', HASH_A);
        const attempts = Array.from({ length: 8 }, (_, i) => store.save({ ...created, attempt: i + 1 }));
        const results = await Promise.allSettled(attempts);
        const won = results.filter((r) => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const r of results)
          if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(StateConflictError);
        const stored = await store.load('exp-1');
        expect(stored).toEqual((won[0] as PromiseFulfilledResult<ExperimentState>).value);
      });

      it('a revision-0 save over an existing record is a conflict', async () => {
        await store.create('exp-1', HASH_A);
        await expect(store.save(createState('exp-1', HASH_B, { clock }))).rejects.toBeInstanceOf(
          StateConflictError,
        );
      });

      it('two stores on one location see each other and never lose an update', async (context) => {
        if (!h.reopen) return context.skip();
        const other = await h.reopen();
        try {
          const created = await store.create('exp-1', HASH_A);
          const viaOther = await other.save(transition(created, 'measuring', clock));
          await expect(store.save(markFailed(created, 'x', 'error', clock))).rejects.toBeInstanceOf(
            StateConflictError,
          );
          expect(await store.load('exp-1')).toEqual(viaOther);
        } finally {
          await other.close();
        }
      });
    });

    describe('delete', () => {
      it('delete removes a record and reports whether one existed', async () => {
        await store.create('exp-1', HASH_A);
        expect(await store.delete('exp-1')).toBe(true);
        expect(await store.load('exp-1')).toBeNull();
        expect(await store.findByConfigHash(HASH_A)).toBeNull();
        expect(await store.delete('exp-1')).toBe(false);
      });

      it('an id can be created again after delete', async () => {
        await store.create('exp-1', HASH_A);
        await store.delete('exp-1');
        const again = await store.create('exp-1', HASH_B);
        expect(await store.load('exp-1')).toEqual(again);
      });
    });

    describe('list', () => {
      const seed = async () => {
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
      const ids = (states: ExperimentState[]) => states.map((s) => s.experimentId).sort();

      it('list without a filter returns every state', async () => {
        const { a, b, c, d } = await seed();
        const all = await store.list();
        expect(ids(all)).toEqual(['a-init', 'b-measuring', 'c-failed', 'd-done']);
        expect(all).toEqual(expect.arrayContaining([a, b, c, d]));
      });

      it('list of an empty store is empty', async () => {
        expect(await store.list()).toEqual([]);
      });

      it('list filters by phase', async () => {
        await seed();
        expect(ids(await store.list({ phase: 'measuring' }))).toEqual(['b-measuring', 'c-failed']);
        expect(ids(await store.list({ phase: 'done' }))).toEqual(['d-done']);
      });

      it('list filters by failed', async () => {
        await seed();
        expect(ids(await store.list({ failed: true }))).toEqual(['c-failed']);
        expect(ids(await store.list({ failed: false }))).toEqual(['a-init', 'b-measuring', 'd-done']);
      });

      it('list filters by studyId and configHash, and combines filters', async () => {
        await seed();
        expect(ids(await store.list({ studyId: 's1' }))).toEqual(['a-init', 'b-measuring']);
        expect(ids(await store.list({ configHash: HASH_B }))).toEqual(['c-failed', 'd-done']);
        expect(ids(await store.list({ configHash: HASH_B, failed: false }))).toEqual(['d-done']);
        expect(ids(await store.list({ studyId: 's1', phase: 'initialising' }))).toEqual(['a-init']);
      });

      it('list never shows temp files left by an interrupted write', async (context) => {
        if (!h.dir) return context.skip();
        await store.create('real', HASH_A);
        const ghost = JSON.stringify({ ...createState('ghost', HASH_A, { clock }), revision: 1 });
        await writeFile(join(h.dir, `${TEMP_PREFIX}ghost.json.1.abcd`), ghost);
        await writeFile(join(h.dir, `${TEMP_PREFIX}real.json.1.abcd`), '{"torn');
        expect(ids(await store.list())).toEqual(['real']);
        expect(await store.findByConfigHash(HASH_A)).toMatchObject({ experimentId: 'real' });
      });
    });

    describe('findByConfigHash', () => {
      it('returns the most recently updated state with the hash', async () => {
        await store.create('old', HASH_A);
        await store.create('other', HASH_B);
        const newer = await store.create('newer', HASH_A);
        expect(await store.findByConfigHash(HASH_A)).toEqual(newer);
        const old = (await store.load('old'))!;
        const touched = await store.save(transition(old, 'measuring', clock));
        expect(await store.findByConfigHash(HASH_A)).toEqual(touched);
      });

      it('returns null for an unknown hash', async () => {
        await store.create('exp-1', HASH_A);
        expect(await store.findByConfigHash('0123456789abcdef')).toBeNull();
      });

      it('follows a change of hash: the old hash no longer finds the state', async () => {
        const created = await store.create('exp-1', HASH_A);
        const moved = await store.save({ ...created, configHash: HASH_B });
        expect(await store.findByConfigHash(HASH_A)).toBeNull();
        expect(await store.findByConfigHash(HASH_B)).toEqual(moved);
      });

      it('rejects a malformed hash with ConfigError', async () => {
        await expect(store.findByConfigHash('../../etc/passwd')).rejects.toBeInstanceOf(ConfigError);
      });
    });

    describe('cleanupStale', () => {
      it('marks a measuring state whose process is gone as failed (stale) with a message', async () => {
        const pid = deadPid();
        await measuring('exp-dead', pid);
        expect(await store.cleanupStale()).toEqual(['exp-dead']);
        const after = await store.load('exp-dead');
        expect(after).toMatchObject({ phase: 'measuring', failed: true, failureKind: 'stale' });
        expect(after?.errorMessage).toContain(String(pid));
        expect(await store.cleanupStale()).toEqual([]);
      });

      it('leaves a state whose process is alive untouched', async () => {
        const saved = await measuring('exp-live', process.pid);
        expect(await store.cleanupStale()).toEqual([]);
        expect(await store.load('exp-live')).toEqual(saved);
      });

      it('treats EPERM from kill(pid, 0) as alive', async () => {
        const eperm = await open({ isProcessAlive: (pid) => isProcessAlive(pid, epermKill) });
        const saved = await measuring('exp-foreign-user', deadPid(), hostname(), eperm.store);
        expect(await eperm.store.cleanupStale()).toEqual([]);
        expect(await eperm.store.load('exp-foreign-user')).toEqual(saved);
      });

      it('never declares a state recorded on another host stale', async () => {
        const saved = await measuring('exp-remote', deadPid(), 'some-other-host');
        expect(await store.cleanupStale()).toEqual([]);
        expect(await store.load('exp-remote')).toEqual(saved);
      });

      it('a measuring state without a recorded process is stale; other phases are left alone', async () => {
        await measuring('exp-no-pid', null);
        const init = await store.create('exp-init', HASH_B);
        const done = await store.save(transition(await measuring('exp-done', deadPid()), 'done', clock));
        expect(await store.cleanupStale()).toEqual(['exp-no-pid']);
        expect(await store.load('exp-init')).toEqual(init);
        expect(await store.load('exp-done')).toEqual(done);
      });
    });

    describe('bad records and bad input', () => {
      it('a corrupt record is a StateStoreError naming it, from load, list and findByConfigHash', async () => {
        await store.create('broken', HASH_A);
        await store.create('fine', HASH_B);
        await h.writeRaw('broken', '{"experimentId": "broken", "phase": ');
        await expect(store.load('broken')).rejects.toThrow(StateStoreError);
        await expect(store.load('broken')).rejects.toThrow(/broken/);
        await expect(store.list()).rejects.toThrow(/broken/);
        await expect(store.findByConfigHash(HASH_A)).rejects.toThrow(StateStoreError);
      });

      it('list with onCorrupt reports corrupt records and returns the rest', async () => {
        await store.create('broken', HASH_A);
        const fine = await store.create('fine', HASH_B);
        await h.writeRaw('broken', 'not json at all');
        const reported: Error[] = [];
        expect(await store.list({}, { onCorrupt: (e) => reported.push(e) })).toEqual([fine]);
        expect(reported).toHaveLength(1);
        expect(reported[0]).toBeInstanceOf(StateStoreError);
        expect(reported[0]?.message).toMatch(/broken/);
      });

      it('a record that fails the schema is a StateStoreError naming it', async () => {
        const state = await store.create('odd', HASH_A);
        await h.writeRaw('odd', JSON.stringify({ ...state, phase: 'exploded' }));
        await expect(store.load('odd')).rejects.toThrow(StateStoreError);
        await expect(store.load('odd')).rejects.toThrow(/odd/);
      });

      it('a record from a newer schemaVersion is a StateStoreError that says so', async () => {
        const state = await store.create('future', HASH_A);
        await h.writeRaw(
          'future',
          JSON.stringify({ ...state, schemaVersion: STATE_SCHEMA_VERSION + 1, newField: 1 }),
        );
        await expect(store.load('future')).rejects.toThrow(StateStoreError);
        await expect(store.load('future')).rejects.toThrow(/newer|schema ?version/i);
      });

      it('a record that names another experiment is a StateStoreError', async () => {
        const state = await store.create('mine', HASH_A);
        await h.writeRaw('mine', JSON.stringify({ ...state, experimentId: 'someone-else' }));
        await expect(store.load('mine')).rejects.toThrow(StateStoreError);
      });

      it('a corrupt record can still be deleted', async () => {
        await store.create('broken', HASH_A);
        await h.writeRaw('broken', '{');
        expect(await store.delete('broken')).toBe(true);
        expect(await store.load('broken')).toBeNull();
      });

      it('a corrupt record reported by list names its id, and quarantine moves it aside, twice without overwriting', async (context) => {
        if (!store.quarantine) return context.skip();
        await store.create('broken', HASH_A);
        const fine = await store.create('fine', HASH_B);
        const places: string[] = [];
        for (let round = 0; round < 2; round++) {
          await store.create('broken', HASH_A).catch(() => undefined);
          await h.writeRaw('broken', `not json, round ${round}`);
          const reported: Error[] = [];
          await store.list({}, { onCorrupt: (e) => reported.push(e) });
          expect(reported).toHaveLength(1);
          expect(reported[0]).toBeInstanceOf(CorruptRecordError);
          expect((reported[0] as CorruptRecordError).recordId).toBe('broken');
          places.push(await store.quarantine('broken'));
          expect(await store.load('broken')).toBeNull();
          expect(await store.list()).toEqual([fine]);
        }
        expect(new Set(places).size).toBe(2);
        await expect(store.quarantine('never-there')).rejects.toBeInstanceOf(StateStoreError);
      });

      it('unsafe ids are rejected with ConfigError by every method', async () => {
        for (const id of UNSAFE_IDS) {
          await expect(store.create(id, HASH_A), id).rejects.toBeInstanceOf(ConfigError);
          await expect(store.load(id), id).rejects.toBeInstanceOf(ConfigError);
          await expect(store.delete(id), id).rejects.toBeInstanceOf(ConfigError);
          const forged = { ...createState('safe', HASH_A, { clock }), experimentId: id };
          await expect(store.save(forged), id).rejects.toBeInstanceOf(ConfigError);
        }
        expect(await store.list()).toEqual([]);
      });
    });

    describe('close', () => {
      it('every method fails with StateStoreError after close; close twice is fine', async () => {
        await store.create('exp-1', HASH_A);
        await store.close();
        await store.close();
        const calls: Array<() => Promise<unknown>> = [
          () => store.create('exp-2', HASH_A),
          () => store.load('exp-1'),
          () => store.save(createState('exp-3', HASH_A, { clock })),
          () => store.delete('exp-1'),
          () => store.list(),
          () => store.findByConfigHash(HASH_A),
          () => store.cleanupStale(),
        ];
        for (const call of calls) await expect(call()).rejects.toBeInstanceOf(StateStoreError);
      });
    });
  });
}
