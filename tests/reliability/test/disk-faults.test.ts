import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  echoStudy,
  filesUnder,
  finished,
  MeasuredOnce,
  runToCompletion,
  type Sandbox,
  sandbox,
  sleep,
  startLlem,
  statusOf,
  summaryOf,
  survivors,
} from './llem.js';

/**
 * File-system faults while a result is written, with real file systems: the results folder is a
 * small tmpfs that fills up or turns read-only at the exact moment llem is about to write a
 * result (llem freezes itself there with the `result-writing@n:stop` fail point; the test changes
 * the world and lets it go on), and a state directory that vanishes mid-run. The run ends failed
 * with a clear reason, nothing is half-written, no process is left, and a rerun recovers without
 * measuring anything twice.
 */

const EXPERIMENTS = 3;

function tryMount(args: string[]): boolean {
  try {
    execFileSync('mount', args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Can this machine mount a tmpfs (root with CAP_SYS_ADMIN)? */
const canMount = (() => {
  const probe = join('/tmp', `llem-mount-probe-${process.pid}`);
  mkdirSync(probe, { recursive: true });
  const ok = tryMount(['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]);
  if (ok) execFileSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return ok;
})();

/** Waits until `pid` is stopped (state T in /proc), i.e. llem reached the armed fail point. */
async function stopped(pid: number, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T') return;
    if (Date.now() > deadline) throw new Error(`llem ${pid} never reached its fail point`);
    await sleep(20);
  }
}

/** Writes zeros into `path` until the file system says ENOSPC. */
function fillUp(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}

const resultFiles = (box: Sandbox) =>
  filesUnder(box.resultsDir).filter((f) => /(^|\/)result\.json$/.test(f) && !f.includes('/.'));

describe.skipIf(!canMount)(
  'a results folder that fills up or turns read-only while a result is written',
  () => {
    const cases = [
      {
        name: 'disk full',
        fault: (box: Sandbox) => fillUp(join(box.resultsDir, 'filler')),
        heal: (box: Sandbox) => rmSync(join(box.resultsDir, 'filler')),
        reason: /no space left on the device \(ENOSPC\)/,
      },
      {
        name: 'read-only',
        fault: (box: Sandbox) => execFileSync('mount', ['-o', 'remount,ro', box.resultsDir]),
        heal: (box: Sandbox) => execFileSync('mount', ['-o', 'remount,rw', box.resultsDir]),
        reason: /read-only \(EROFS\)/,
      },
    ];
    describe.each(['fs', 'sqlite'] as const)('%s store', (store) => {
      for (const c of cases) {
        const box = sandbox(store);
        mkdirSync(box.resultsDir, { recursive: true });
        const mounted = tryMount(['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', box.resultsDir]);
        afterAll(() => {
          if (mounted) execFileSync('umount', ['-l', box.resultsDir]);
          box.remove();
        });
        const study = box.write(
          'study.yaml',
          echoStudy(`disk-${c.name.replace(' ', '-')}`, EXPERIMENTS, 0.01),
        );
        const once = new MeasuredOnce(box);

        it(`${c.name}: the run fails with the reason, leaves no partial result, and a rerun recovers`, async () => {
          expect(mounted).toBe(true);
          const child = startLlem(['run', study, '--json'], {
            ...box.env,
            LLEM_FAILPOINTS: 'result-writing@2:stop',
          });
          const done = finished(child);
          await stopped(child.pid!);
          c.fault(box);
          child.kill('SIGCONT');
          const result = await done;
          expect(result.code, result.stderr).toBe(1);
          expect(result.stderr).not.toMatch(/\n\s+at /);
          const summary = summaryOf(result.stdout);
          expect(summary.runs[0]!.status).toBe('done');
          expect(summary.runs[1]!.status).toBe('failed');
          expect(summary.runs[1]!.error).toMatch(c.reason);
          // The state says so too, and nothing of that result is in the results folder.
          const { experiments } = await statusOf(box.env);
          const failed = experiments.find((e) => e.experimentId === summary.runs[1]!.experimentId)!;
          expect(failed).toMatchObject({ failed: true, failureKind: 'error' });
          expect(failed.errorMessage).toMatch(c.reason);
          expect(resultFiles(box)).toHaveLength(1);
          once.snapshot();
          expect(await survivors(box.dir)).toEqual([]);

          c.heal(box);
          const rerun = await runToCompletion(study, box.env);
          expect(rerun.code, rerun.stderr).toBe(0);
          expect(summaryOf(rerun.stdout).counts).toMatchObject({
            reused: 1,
            done: EXPERIMENTS - 1,
            failed: 0,
          });
          expect(resultFiles(box)).toHaveLength(EXPERIMENTS);
          expect(once.violations()).toEqual([]);
        });
      }
    });
  },
);

describe.each(['fs', 'sqlite'] as const)('a state directory that vanishes mid-run (%s store)', (store) => {
  const box = sandbox(store);
  afterAll(() => box.remove());
  const study = box.write('study.yaml', echoStudy('vanish', EXPERIMENTS, 0.01));
  const once = new MeasuredOnce(box);

  it('ends without a crash or orphan, and the rerun adopts every committed result', async () => {
    const child = startLlem(['run', study, '--json'], {
      ...box.env,
      LLEM_FAILPOINTS: 'result-writing@1:stop',
    });
    const done = finished(child);
    await stopped(child.pid!);
    rmSync(box.stateDir, { recursive: true, force: true });
    child.kill('SIGCONT');
    const result = await done;
    // fs: the store's files are gone, every save fails (exit 1, each run says why); SQLite keeps
    // writing to its open (now unlinked) database and finishes. Never a crash, never a stack trace.
    expect([0, 1], result.stderr).toContain(result.code);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    const summary = summaryOf(result.stdout);
    for (const run of summary.runs) if (run.status === 'failed') expect(run.error).toBeTruthy();
    once.snapshot();
    expect(await survivors(box.dir)).toEqual([]);

    // A new, empty store: every result already committed is adopted from its file, not remeasured.
    const committed = resultFiles(box).length;
    expect(committed).toBeGreaterThanOrEqual(1);
    const rerun = await runToCompletion(study, box.env);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(summaryOf(rerun.stdout).counts).toMatchObject({
      reused: committed,
      done: EXPERIMENTS - committed,
    });
    expect(once.violations()).toEqual([]);
    const { experiments } = await statusOf(box.env);
    for (const state of experiments) expect(state).toMatchObject({ phase: 'done', failed: false });
  });
});
