import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStoreError, transition } from '@llem/core';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { createFsStateStore, type FsStateStore } from '../src/index.js';

const HASH = 'aaaaaaaaaaaaaaaa';

describe('FsStateStore specifics', () => {
  let dir: string;
  let store: FsStateStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llem-fs-'));
    store = await createFsStateStore({ dir });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one readable JSON file per experiment', async () => {
    const state = await store.create('exp-1', HASH);
    expect(JSON.parse(await readFile(join(dir, 'exp-1.json'), 'utf8'))).toEqual(state);
    expect((await readdir(dir)).filter((name) => !name.startsWith('.'))).toEqual(['exp-1.json']);
  });

  it('findByConfigHash reads only the indexed candidates, not every record', async () => {
    const wanted = await store.create('wanted', HASH);
    await store.create('unrelated', 'bbbbbbbbbbbbbbbb');
    await writeFile(join(dir, 'unrelated.json'), '{ corrupt');
    expect(await store.findByConfigHash(HASH)).toEqual(wanted);
  });

  it('an index marker without a matching record (a crash between marker and write) is ignored', async () => {
    await store.create('moved', 'bbbbbbbbbbbbbbbb');
    await mkdir(join(dir, '.index', HASH), { recursive: true });
    await writeFile(join(dir, '.index', HASH, 'moved'), '');
    await writeFile(join(dir, '.index', HASH, 'never-written'), '');
    expect(await store.findByConfigHash(HASH)).toBeNull();
    expect(await store.list({ configHash: HASH })).toEqual([]);
  });

  it('takes over a lock left by a dead process', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    await writeFile(
      join(dir, '.locks', 'exp-1.lock'),
      JSON.stringify({ pid: dead, host: hostname(), token: 't' }),
    );
    const created = await store.create('exp-1', HASH);
    expect((await store.save(transition(created, 'measuring'))).revision).toBe(2);
  });

  it('waits for a lock held by a live process and proceeds once it is released', async () => {
    const lock = join(dir, '.locks', 'exp-1.lock');
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: 't' }));
    const pending = store.create('exp-1', HASH);
    let settled = false;
    void pending.finally(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    await rm(lock);
    expect((await pending).experimentId).toBe('exp-1');
  });

  it('does not break a lock held on another host; times out with a StateStoreError naming it', async () => {
    const quick = await createFsStateStore({ dir, lockTimeoutMs: 30 });
    await writeFile(
      join(dir, '.locks', 'exp-1.lock'),
      JSON.stringify({ pid: 1, host: 'elsewhere', token: 't' }),
    );
    await expect(quick.create('exp-1', HASH)).rejects.toThrow(StateStoreError);
    await expect(quick.create('exp-1', HASH)).rejects.toThrow(/exp-1\.lock.*elsewhere/);
    await quick.close();
  });

  it('a .json file with a name that is no experiment id is reported by list, not skipped', async () => {
    const state = await store.create('exp-1', HASH);
    await writeFile(join(dir, 'my notes.json'), '{}');
    await expect(store.list()).rejects.toThrow(/my notes\.json is not an llem state record/);
    const reported: Error[] = [];
    expect(await store.list({}, { onCorrupt: (error) => reported.push(error) })).toEqual([state]);
    expect(reported.map((error) => error.constructor.name)).toEqual(['StateStoreError']);
  });

  it('on open, removes lock owner files left by writers that died on this host, and only those', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const locks = join(dir, '.locks');
    const owner = (pid: number, host: string) => JSON.stringify({ pid, host, token: 't' });
    await writeFile(join(locks, '.tmp-lock.dead'), owner(dead, hostname()));
    await writeFile(join(locks, '.tmp-lock.live'), owner(process.pid, hostname()));
    await writeFile(join(locks, '.tmp-lock.remote'), owner(dead, 'elsewhere'));
    await writeFile(join(locks, '.tmp-lock.torn-new'), '{"pi');
    await writeFile(join(locks, '.tmp-lock.torn-old'), '');
    const old = new Date(Date.now() - 3_600_000);
    await utimes(join(locks, '.tmp-lock.torn-old'), old, old);
    const reopened = await createFsStateStore({ dir });
    expect((await readdir(locks)).sort()).toEqual([
      '.tmp-lock.live',
      '.tmp-lock.remote',
      '.tmp-lock.torn-new',
    ]);
    await reopened.close();
  });

  it('defaults to $LLEM_STATE_DIR', async () => {
    vi.stubEnv('LLEM_STATE_DIR', join(dir, 'from-env'));
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    const fromEnv = await createFsStateStore();
    expect(fromEnv.dir).toBe(join(dir, 'from-env'));
    await fromEnv.create('exp-1');
    expect(await readdir(join(dir, 'from-env'))).toContain('exp-1.json');
    await fromEnv.close();
  });

  it('an unwritable directory is a StateStoreError with a fix', async () => {
    await writeFile(join(dir, 'a-file'), '');
    await expect(createFsStateStore({ dir: join(dir, 'a-file', 'sub') })).rejects.toThrow(StateStoreError);
  });
});
