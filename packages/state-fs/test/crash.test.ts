import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sigkillDuringSaves } from '@llem/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFsStateStore, type FsStateStore } from '../src/index.js';
import { HASHES, hashFor, payloadFor } from './fixtures/payload.js';
import { bundleChild } from './helpers/bundle.js';

describe('FsStateStore under real crashes', () => {
  let writer: string;
  let dir: string;
  let store: FsStateStore;

  beforeAll(async () => {
    writer = bundleChild(new URL('./fixtures/save-loop.ts', import.meta.url), 'fs-save-loop');
    dir = await mkdtemp(join(tmpdir(), 'llem-fs-crash-'));
    store = await createFsStateStore({ dir });
  });
  afterAll(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a writer SIGKILLed at 50 random moments leaves every record whole, at its last complete version', {
    timeout: 180_000,
  }, async () => {
    const seen = new Map<string, number>();
    await sigkillDuringSaves({
      iterations: 50,
      spawnWriter: () =>
        spawn(process.execPath, [writer, dir, 'loop'], { stdio: ['ignore', 'pipe', 'pipe'] }),
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
          expect(state.configHash).toBe(state.attempt === 0 ? HASHES[0] : hashFor(state.attempt));
          // The hash index never misses a record, whatever moment the kill hit.
          expect((await store.list({ configHash: state.configHash! })).map((s) => s.experimentId)).toContain(
            id,
          );
          seen.set(id, state.attempt);
        }
        expect(ahead).toBeLessThanOrEqual(1);
      },
    });
    expect((await store.list()).map((s) => s.experimentId)).toEqual(['k0', 'k1', 'k2']);
    const found = [await store.findByConfigHash(HASHES[0]), await store.findByConfigHash(HASHES[1])];
    expect(found.some((state) => state !== null)).toBe(true);
    // Owner files of writers killed mid-acquire are swept when a store opens.
    const sweeper = await createFsStateStore({ dir });
    const leftovers = (await readdir(join(dir, '.locks'))).filter((name) => name.startsWith('.tmp-'));
    // Only owner files torn by a kill mid-write may stay (swept once old); never a readable dead one.
    for (const name of leftovers) {
      expect(() => JSON.parse(readFileSync(join(dir, '.locks', name), 'utf8'))).toThrow();
    }
    await sweeper.close();
    // Locks left by killed writers are recovered: a save here does not wait for them.
    const k0 = (await store.load('k0'))!;
    expect(
      (await store.save({ ...k0, attempt: k0.attempt + 1, errorMessage: payloadFor(k0.attempt + 1) }))
        .revision,
    ).toBe(k0.revision + 1);
  });

  it('two processes adding 200 each to one record lose no update', async () => {
    await store.create('shared');
    const run = () =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, [writer, dir, 'count', '200'], { stdio: 'inherit' });
        child.on('close', resolve);
      });
    expect(await Promise.all([run(), run()])).toEqual([0, 0]);
    const shared = (await store.load('shared'))!;
    expect(shared.attempt).toBe(400);
    expect(shared.revision).toBe(401);
    expect((await readdir(join(dir, '.locks'))).filter((name) => name.startsWith('shared'))).toEqual([]);
  });
});
