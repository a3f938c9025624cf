import type { RunSpec } from '@llem/core';
import { describe, expect, it } from 'vitest';
import { baseEnv, eventually, groupsGone, startNodeFixture } from './helpers.js';

async function startCli(spec: RunSpec) {
  const cli = startNodeFixture('run-workload.ts', [JSON.stringify(spec), '--interrupt']);
  const pgid = Number((await cli.waitForLine(/^pgid \d+$/)).split(' ')[1]);
  await cli.waitForLine(/^line ready$/);
  return { cli, pgid };
}

describe('installInterruptHandler (real signals to a real node process)', () => {
  it('first SIGINT stops the workload gracefully, says so, and the process exits 130', async () => {
    const { cli, pgid } = await startCli({
      argv: ['sh', '-c', `trap 'echo cleaning up; exit 3' TERM; sleep 300 & echo ready; wait`],
      env: baseEnv,
    });
    cli.child.kill('SIGINT');
    expect(await cli.exited).toEqual({ code: 130, signal: null });
    expect(cli.lines.find((l) => l.startsWith('first '))).toMatch(/SIGINT.*gracefully/);
    expect(cli.lines).toContain('line cleaning up');
    expect(cli.lines).toContain('outcome interrupted 3 null');
    expect(cli.lines.some((l) => l.startsWith('second '))).toBe(false);
    expect(groupsGone([pgid])).toBe(true);
  });

  it('a second signal kills the workload at once and exits 130 without waiting for the grace', async () => {
    const { cli, pgid } = await startCli({
      argv: ['sh', '-c', `trap '' TERM; sleep 300 & echo ready; while :; do sleep 0.1; done`],
      env: baseEnv,
      graceMs: 600_000,
    });
    cli.child.kill('SIGTERM');
    await cli.waitForLine(/^first /);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toEqual({ code: 130, signal: null });
    expect(cli.lines.find((l) => l.startsWith('second '))).toMatch(/SIGINT.*kill/);
    expect(cli.lines.some((l) => l.startsWith('outcome '))).toBe(false);
    // SIGKILL was sent to the group before exit; zombies may wait for PID 1 to reap them.
    expect(await eventually(() => groupsGone([pgid]), 2_000)).toBe(true);
  });
});
