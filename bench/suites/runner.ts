/**
 * `pnpm bench runner`: what ProcessGroupRunner (process group + in-group sh watchdog + line
 * streaming) costs over a bare child_process.spawn, and how fast a stop takes a whole group down.
 * The watchdog is one more process that must be scheduled once (to drop its copy of the output
 * pipes), so on an overloaded host the added latency grows with the run queue; `chrt -f 10 pnpm
 * bench runner` shows the intrinsic cost.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { liveGroupMembers, ProcessGroupRunner } from '@llem/runner-node';
import { type BenchRow, type BenchSuite, median, timeMany } from '../types.js';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
const ITERATIONS = 60;
/** A cooperative workload with two grandchildren; prints `ready` once they exist. */
const GROUP_SCRIPT = 'sleep 300 & sleep 300 & echo ready; wait';

function closed(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', () => resolve());
  });
}

/** Bare spawn of /bin/true with piped output, until its pipes close (what the runner waits for). */
async function rawTrue(): Promise<void> {
  await closed(spawn('/bin/true', [], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Waits until no live process is left in the group; returns ms since `t0`. */
async function groupDeadAfter(pgid: number, t0: number): Promise<number> {
  while (liveGroupMembers(pgid).length > 0) await new Promise((r) => setImmediate(r));
  return performance.now() - t0;
}

/** Bare way: detached spawn, kill(-pgid, SIGTERM) once ready. Returns ms from the kill to group dead. */
async function rawStop(): Promise<number> {
  const child = spawn('sh', ['-c', GROUP_SCRIPT], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  const done = closed(child);
  const t0 = performance.now();
  process.kill(-child.pid!, 'SIGTERM');
  await done;
  return groupDeadAfter(child.pid!, t0);
}

/** The runner: abort once ready. Returns [ms until run() resolved, ms until the group is dead]. */
async function runnerStop(runner: ProcessGroupRunner): Promise<[number, number]> {
  const controller = new AbortController();
  let t0 = 0;
  const outcome = await runner.run(
    { argv: ['sh', '-c', GROUP_SCRIPT], env },
    {
      signal: controller.signal,
      onLine: (line) => {
        if (line !== 'ready') return;
        t0 = performance.now();
        controller.abort();
      },
    },
  );
  const resolved = performance.now() - t0;
  return [resolved, await groupDeadAfter(outcome.pid!, t0)];
}

export const suite: BenchSuite = {
  name: 'runner',
  async run(): Promise<BenchRow[]> {
    const runner = new ProcessGroupRunner();
    const viaRunner = () => runner.run({ argv: ['/bin/true'], env });
    // Interleave the two so machine noise hits both alike.
    const raw: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      raw.push(...(await timeMany(rawTrue, 1, i === 0 ? 3 : 0)));
      ours.push(...(await timeMany(viaRunner, 1, i === 0 ? 3 : 0)));
    }
    const rawMs = median(raw);
    const oursMs = median(ours);
    // Median of the paired differences: each pair ran back to back, so load drift cancels out.
    const added = median(ours.map((ms, i) => ms - raw[i]!));

    const rawStops: number[] = [];
    const resolvedStops: number[] = [];
    const deadStops: number[] = [];
    for (let i = 0; i < 15; i++) {
      rawStops.push(await rawStop());
      const [resolved, dead] = await runnerStop(runner);
      resolvedStops.push(resolved);
      deadStops.push(dead);
    }
    const deadMs = median(deadStops);
    return [
      {
        suite: 'runner',
        name: 'run /bin/true, spawn to outcome (median)',
        value: oursMs,
        unit: 'ms',
        baseline: { name: 'child_process.spawn /bin/true to close', value: rawMs },
      },
      {
        suite: 'runner',
        name: 'added latency over raw spawn (median of paired differences)',
        value: added,
        unit: 'ms',
        target: '< 5 ms',
        ok: added < 5,
      },
      {
        suite: 'runner',
        name: 'stop request to whole group dead, cooperative sh + 2 grandchildren (median)',
        value: deadMs,
        unit: 'ms',
        baseline: { name: 'kill(-pgid, SIGTERM) to group dead', value: median(rawStops) },
        target: '< 100 ms',
        ok: deadMs < 100,
      },
      {
        suite: 'runner',
        name: 'stop request to run() resolved (median)',
        value: median(resolvedStops),
        unit: 'ms',
      },
    ];
  },
};
