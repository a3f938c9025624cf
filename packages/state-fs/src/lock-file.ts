import { randomBytes } from 'node:crypto';
import { link, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateStoreError, TEMP_PREFIX } from '@llem/core';

export interface LockFileOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  isProcessAlive: (pid: number) => boolean;
  hostName: string;
}

interface LockOwner {
  pid: number;
  host: string;
  token: string;
}

const ASIDE_PREFIX = `${TEMP_PREFIX}lock.`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readOwner(path: string): Promise<LockOwner | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockOwner;
  } catch {
    return null;
  }
}

/**
 * An exclusive lock as a file holding `{pid, host, token}`. The file appears complete or not at
 * all (written aside, then hard-linked into place, which fails if it exists), so a reader never
 * sees a half-written owner. A lock whose owner died on this host is broken and taken over;
 * one held on another host is waited for, because its pid cannot be checked from here.
 * Returns the release function.
 */
export async function acquireLockFile(path: string, options: LockFileOptions): Promise<() => Promise<void>> {
  const dir = join(path, '..');
  const owner: LockOwner = {
    pid: process.pid,
    host: options.hostName,
    token: randomBytes(8).toString('hex'),
  };
  const aside = join(dir, `${ASIDE_PREFIX}${owner.token}`);
  await writeFile(aside, JSON.stringify(owner));
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let wait = 1;
  try {
    for (;;) {
      try {
        await link(aside, path);
        return async () => {
          await unlink(path).catch(() => {});
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readOwner(path);
      if (holder && holder.host === options.hostName && !options.isProcessAlive(holder.pid)) {
        await breakStaleLock(path, holder);
        continue;
      }
      if (Date.now() > deadline) {
        const who = holder ? `process ${holder.pid} on ${holder.host}` : 'an unknown process';
        throw new StateStoreError(`Timed out waiting for the lock ${path}, held by ${who}.`, {
          fix: `If ${who} is not running llem any more, delete ${path}.`,
        });
      }
      await sleep(wait);
      wait = Math.min(wait * 2, 20);
    }
  } finally {
    await unlink(aside).catch(() => {});
  }
}

/**
 * Moves the dead owner's lock aside and checks it really was that one: if another process broke
 * it first and a live writer re-took it in between, the live lock is put back.
 */
async function breakStaleLock(path: string, dead: LockOwner): Promise<void> {
  const grave = `${path}.stale-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, grave);
  } catch {
    return; // someone else broke it first
  }
  const moved = await readOwner(grave);
  if (moved?.token !== dead.token) await link(grave, path).catch(() => {});
  await unlink(grave).catch(() => {});
}

/** An owner file nobody could read this long after it was written is debris (acquiring waits 10 s at most). */
const UNREADABLE_DEBRIS_AGE_MS = 10 * 60_000;

/**
 * Removes owner files that writers killed mid-acquire left behind in `dir`: those whose process is
 * gone on this host, and torn ones (killed while writing them) once they are old. A live writer's
 * file is never touched. Returns how many were removed.
 */
export async function sweepDeadLockFiles(
  dir: string,
  options: Pick<LockFileOptions, 'isProcessAlive' | 'hostName'>,
  now = Date.now(),
): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(ASIDE_PREFIX)) continue;
    const path = join(dir, name);
    const owner = await readOwner(path);
    const debris = owner
      ? owner.host === options.hostName && !options.isProcessAlive(owner.pid)
      : await stat(path).then(
          (info) => now - info.mtimeMs > UNREADABLE_DEBRIS_AGE_MS,
          () => false,
        );
    if (!debris) continue;
    await unlink(path).then(
      () => removed++,
      () => {},
    );
  }
  return removed;
}
