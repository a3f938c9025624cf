import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSpec } from '@llem/core';
import { afterAll, describe, expect, it } from 'vitest';
import { baseEnv, eventually, groupsGone, startNodeFixture } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'llem-watchdog-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A fake `docker` that records its argv, one call per line (the daemon is not on this machine). */
function fakeDocker(): { path: string; calls: () => string[] } {
  const dir = mkdtempSync(join(scratch, 'docker-'));
  const record = join(dir, 'calls');
  const path = join(dir, 'docker');
  writeFileSync(path, `#!/bin/sh\necho "$*" >> '${record}'\n`, { mode: 0o755 });
  return {
    path,
    calls: () => {
      try {
        return readFileSync(record, 'utf8').trim().split('\n');
      } catch {
        return [];
      }
    },
  };
}

async function startParent(spec: RunSpec) {
  const parent = startNodeFixture('run-workload.ts', [JSON.stringify(spec)]);
  const pgid = Number((await parent.waitForLine(/^pgid \d+$/)).split(' ')[1]);
  await parent.waitForLine(/^line ready$/);
  return { parent, pgid };
}

describe('watchdog: llem killed by SIGKILL leaves no orphan', () => {
  it('kills the workload and its grandchildren within 2 s', async () => {
    const { parent, pgid } = await startParent({
      argv: ['sh', '-c', 'sleep 300 & sleep 300 & (sleep 300 & wait) & echo ready; wait'],
      env: baseEnv,
    });
    expect(groupsGone([pgid])).toBe(false);
    parent.child.kill('SIGKILL');
    await parent.exited;
    expect(await eventually(() => groupsGone([pgid]), 2_000)).toBe(true);
  });

  it('escalates to SIGKILL after the grace when the workload ignores SIGTERM, and runs the stop commands', async () => {
    const docker = fakeDocker();
    const { parent, pgid } = await startParent({
      argv: ['sh', '-c', `trap '' TERM; sleep 300 & echo ready; while :; do sleep 0.1; done`],
      env: baseEnv,
      // Long enough for the fake `docker stop` to run even on a loaded machine.
      graceMs: 800,
      stopCommands: { graceful: [docker.path, 'stop', 'llem-x'], force: [docker.path, 'kill', 'llem-x'] },
    });
    parent.child.kill('SIGKILL');
    await parent.exited;
    expect(await eventually(() => groupsGone([pgid]), 3_000)).toBe(true);
    expect(docker.calls()).toEqual(['stop llem-x', 'kill llem-x']);
  });
});
