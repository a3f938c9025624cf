/** The contract, cleanupStale and liveness: which measuring states are dead. */
import { hostname } from 'node:os';
import { expect, it } from 'vitest';
import { transition } from '../../state/experiment-state.js';
import { isProcessAlive } from '../../state/liveness.js';
import { deadPid, describeStorePart, epermKill, HASH_B, type StateStoreContractPart } from './harness.js';

/**
 * cleanupStale: a measuring state whose process is gone (on this host) is marked failed (stale);
 * a live process, one that belongs to another user (EPERM), another host's state and the other
 * phases are left alone.
 */
export const describeStateStoreCleanupStale: StateStoreContractPart = (name, factory) =>
  describeStorePart(name, 'cleanupStale', factory, (t) => {
    it('marks a measuring state whose process is gone as failed (stale) with a message', async () => {
      const pid = deadPid();
      await t.measuring('exp-dead', pid);
      expect(
        await t.store.cleanupStale(),
        'cleanupStale must return the id of a measuring state whose recorded process (on this host) has exited: nobody else will ever finish it',
      ).toEqual(['exp-dead']);
      const after = await t.store.load('exp-dead');
      expect(
        after,
        "a stale state must be saved failed with failureKind 'stale', keeping its phase: the next run measures it again and status says why",
      ).toMatchObject({ phase: 'measuring', failed: true, failureKind: 'stale' });
      expect(
        after?.errorMessage,
        'the stale message must name the dead pid: a user checks it against their own processes',
      ).toContain(String(pid));
      expect(
        await t.store.cleanupStale(),
        'a second cleanupStale must find nothing: a state already marked stale is failed, not measuring',
      ).toEqual([]);
    });

    it('leaves a state whose process is alive untouched', async () => {
      const saved = await t.measuring('exp-live', process.pid);
      expect(
        await t.store.cleanupStale(),
        'cleanupStale must not report a state whose process is alive: that run is being measured right now',
      ).toEqual([]);
      expect(
        await t.store.load('exp-live'),
        "a live process's state must be left exactly as it was (same revision): a write would make its owner's next save a conflict",
      ).toEqual(saved);
    });

    it('treats EPERM from kill(pid, 0) as alive', async () => {
      const eperm = await t.open({ isProcessAlive: (pid) => isProcessAlive(pid, epermKill) });
      const saved = await t.measuring('exp-foreign-user', deadPid(), hostname(), eperm.store);
      expect(
        await eperm.store.cleanupStale(),
        "cleanupStale must use the isProcessAlive it was given, and EPERM means alive: the process exists but belongs to another user, and that user's run must not be failed",
      ).toEqual([]);
      expect(
        await eperm.store.load('exp-foreign-user'),
        'a state whose liveness check said EPERM must be left exactly as it was',
      ).toEqual(saved);
    });

    it('never declares a state recorded on another host stale', async () => {
      const saved = await t.measuring('exp-remote', deadPid(), 'some-other-host');
      expect(
        await t.store.cleanupStale(),
        "cleanupStale must skip states recorded on another host (hostName differs from the store's): a pid means nothing across machines, and a Slurm node's live run would be failed",
      ).toEqual([]);
      expect(await t.store.load('exp-remote'), "another host's state must be left exactly as it was").toEqual(
        saved,
      );
    });

    it('a measuring state without a recorded process is stale; other phases are left alone', async () => {
      await t.measuring('exp-no-pid', null);
      const init = await t.store.create('exp-init', HASH_B);
      const done = await t.store.save(transition(await t.measuring('exp-done', deadPid()), 'done', t.clock));
      expect(
        await t.store.cleanupStale(),
        'cleanupStale must report a measuring state with no recorded process (its owner died before recording one) and only measuring states: initialising and done states have no process to check',
      ).toEqual(['exp-no-pid']);
      expect(
        await t.store.load('exp-init'),
        'an initialising state must be left alone by cleanupStale: claims in progress are not stale',
      ).toEqual(init);
      expect(
        await t.store.load('exp-done'),
        'a done state must be left alone by cleanupStale even if its process is gone: a finished measurement must never be failed',
      ).toEqual(done);
    });
  });
