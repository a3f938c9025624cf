/**
 * What every part of the StateStore contract shares: the factory a store's test file gives, a
 * fresh store per test, and the small fixtures (a stepping clock, a dead pid, two config hashes).
 */
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe } from 'vitest';
import type { Clock } from '../../clock.js';
import { type ExperimentState, transition, withProcess } from '../../state/experiment-state.js';
import { isProcessAlive } from '../../state/liveness.js';
import type { StateStore } from '../../state/store.js';

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

/**
 * One concern of the contract: `(name, factory)`, like `describeStateStoreContract`, so a store
 * can run one concern on its own (`describeStateStoreRevisions('MyStore', factory)`).
 */
export type StateStoreContractPart = (name: string, factory: StateStoreContractFactory) => void;

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

export const HASH_A = 'aaaaaaaaaaaaaaaa';
export const HASH_B = 'bbbbbbbbbbbbbbbb';

/** A pid that certainly belonged to a process that has exited and been reaped. */
export function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  if (child.pid === undefined) throw new Error('could not spawn a short-lived process');
  return child.pid;
}

/** `kill(pid, 0)` as seen by an unprivileged user looking at another user's process. */
export const epermKill = () => {
  throw Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
};

/** The store under test in one test: fresh for each, cleaned up after it. */
export interface StoreUnderTest {
  /** The harness of this test's store. */
  readonly h: StateStoreContractHarness;
  readonly store: StateStore;
  readonly clock: Clock;
  /** Another harness with some options changed (cleaned up with the test). */
  open(overrides?: Partial<StateStoreContractOptions>): Promise<StateStoreContractHarness>;
  /** Creates a state and moves it to measuring under `pid` on `host` (null: no process recorded). */
  measuring(id: string, pid: number | null, host?: string, target?: StateStore): Promise<ExperimentState>;
}

/**
 * Declares one concern of the contract: `describe('StateStore contract: <name>' > <concern>)`
 * with a fresh store for each test and every harness cleaned up after it.
 */
export function describeStorePart(
  name: string,
  concern: string,
  factory: StateStoreContractFactory,
  body: (t: StoreUnderTest) => void,
): void {
  describe(`StateStore contract: ${name}`, () => {
    describe(concern, () => {
      const harnesses: StateStoreContractHarness[] = [];
      let h: StateStoreContractHarness | undefined;
      let clock: Clock = steppingClock();

      const open = async (overrides: Partial<StateStoreContractOptions> = {}) => {
        const harness = await factory({ clock, isProcessAlive, hostName: hostname(), ...overrides });
        harnesses.push(harness);
        return harness;
      };

      const t: StoreUnderTest = {
        get h() {
          if (!h) throw new Error('the store under test is only there inside a test');
          return h;
        },
        get store() {
          return t.h.store;
        },
        get clock() {
          return clock;
        },
        open,
        async measuring(id, pid, host = hostname(), target = t.store) {
          const created = await target.create(id, HASH_A);
          const started = transition(created, 'measuring', clock);
          return target.save(pid === null ? started : withProcess(started, pid, clock, host));
        },
      };

      beforeEach(async () => {
        clock = steppingClock();
        h = await open();
      });

      afterEach(async () => {
        h = undefined;
        for (const harness of harnesses.splice(0)) await harness.cleanup();
      });

      body(t);
    });
  });
}
