import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StateStore } from '../state/store.js';
import { bundleChild } from './bundle-child.js';
import { sigkillDuringSaves } from './crash-loop.js';
import { CRASH_HASHES, crashHashFor, payloadFor } from './crash-writer.js';

/** One store location for the crash suite; each hook sees it after the writers are gone. */
export interface CrashSafetyHarness<S extends StateStore = StateStore> {
  /** The store the checks read through (opened in this process). */
  store: S;
  /** What the writer's `open` gets as its target (a directory, a database path...). */
  target: string;
  /** Closes the store and removes what the harness created. */
  cleanup(): Promise<void>;
}

export interface StoreCrashSafetyOptions<S extends StateStore = StateStore> {
  /** Names the describe block, e.g. 'FsStateStore'. */
  name: string;
  /** The store's writer fixture: a file that calls `runCrashWriter` from `@llem/core/testing/crash-writer`. */
  writer: URL;
  /** Packages the bundled writer loads at run time (native modules). */
  external?: readonly string[];
  /** A fresh, empty store location. */
  open(): Promise<CrashSafetyHarness<S>>;
  /** How many updates each of the two racing writers saves. */
  racingSaves: number;
  /** Store-specific checks after the SIGKILL loop, before the store takes a new save. */
  afterKills?(harness: CrashSafetyHarness<S>): Promise<void>;
  /** Store-specific checks after the two racing writers finished. */
  afterRace?(harness: CrashSafetyHarness<S>): Promise<void>;
}

/**
 * Crash safety every durable store must show, against real processes and real SIGKILLs: no
 * confirmed save lost, no torn record, no index entry missed, no update lost between processes.
 */
export function describeStoreCrashSafety<S extends StateStore>(options: StoreCrashSafetyOptions<S>): void {
  describe(`${options.name} under real crashes`, () => {
    let writer: string;
    let harness: CrashSafetyHarness<S>;

    beforeAll(async () => {
      const bundleName = `${options.name.toLowerCase()}-crash-writer`;
      writer = bundleChild(options.writer, bundleName, { external: options.external });
      harness = await options.open();
    });
    afterAll(async () => {
      await harness?.cleanup();
    });

    it('a writer SIGKILLed at 50 random moments leaves every record whole, at its last complete version', {
      timeout: 180_000,
    }, async () => {
      const { store, target } = harness;
      const seen = new Map<string, number>();
      await sigkillDuringSaves({
        iterations: 50,
        spawnWriter: () =>
          spawn(process.execPath, [writer, target, 'loop'], { stdio: ['ignore', 'pipe', 'pipe'] }),
        check: async (last) => {
          let ahead = 0;
          for (const [id, reported] of last) {
            const state = (await store.load(id))!;
            // No confirmed save is lost. The kill may land after a save completed but before it was
            // reported: then that one record (only one: the writer saves one at a time) is one ahead.
            const base = Math.max(reported, seen.get(id) ?? 0);
            expect([base, base + 1]).toContain(state.attempt);
            if (state.attempt === base + 1) ahead++;
            expect(state.errorMessage).toBe(payloadFor(state.attempt));
            expect(state.revision).toBe(state.attempt + 1);
            expect(state.configHash).toBe(
              state.attempt === 0 ? CRASH_HASHES[0] : crashHashFor(state.attempt),
            );
            // The hash index never misses a record, whatever moment the kill hit.
            expect(
              (await store.list({ configHash: state.configHash! })).map((s) => s.experimentId),
            ).toContain(id);
            seen.set(id, state.attempt);
          }
          expect(ahead).toBeLessThanOrEqual(1);
        },
      });
      expect((await store.list()).map((s) => s.experimentId)).toEqual(['k0', 'k1', 'k2']);
      const found = [
        await store.findByConfigHash(CRASH_HASHES[0]),
        await store.findByConfigHash(CRASH_HASHES[1]),
      ];
      expect(found.some((state) => state !== null)).toBe(true);
      await options.afterKills?.(harness);
      // What killed writers left behind (locks, open transactions) does not block: a save here goes through.
      const k0 = (await store.load('k0'))!;
      expect(
        (await store.save({ ...k0, attempt: k0.attempt + 1, errorMessage: payloadFor(k0.attempt + 1) }))
          .revision,
      ).toBe(k0.revision + 1);
    });

    it(`two processes saving ${options.racingSaves} updates each to one record lose none`, async () => {
      const { store, target } = harness;
      await store.create('shared');
      const run = () =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, [writer, target, 'count', String(options.racingSaves)], {
            stdio: 'inherit',
          });
          child.on('close', resolve);
        });
      expect(await Promise.all([run(), run()])).toEqual([0, 0]);
      const shared = (await store.load('shared'))!;
      expect(shared.attempt).toBe(2 * options.racingSaves);
      expect(shared.revision).toBe(2 * options.racingSaves + 1);
      await options.afterRace?.(harness);
    });
  });
}
