import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunnerError, type RunSpec } from '@llem/core';
import { afterAll, describe, expect, it } from 'vitest';
import { liveGroupMembers, ProcessGroupRunner } from '../src/index.js';
import { baseEnv, eventually, groupsGone, python } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'llem-runner-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const runner = new ProcessGroupRunner();
const sh = (script: string, extra: Partial<RunSpec> = {}): RunSpec => ({
  argv: ['sh', '-c', script],
  env: baseEnv,
  ...extra,
});

/** Runs `spec`, aborting as soon as the workload prints `ready`; returns outcome and printed lines. */
async function runUntilReadyThenAbort(spec: RunSpec) {
  const controller = new AbortController();
  const lines: string[] = [];
  const outcome = await runner.run(spec, {
    signal: controller.signal,
    onLine: (line) => {
      lines.push(line);
      if (line === 'ready') controller.abort();
    },
  });
  return { outcome, lines };
}

describe('ProcessGroupRunner: the process group', () => {
  it('runs the workload as the leader of a new process group', async () => {
    const lines: string[] = [];
    const outcome = await runner.run(sh('ps -o pgid= -p $$; ps -o sid= -p $$'), {
      onLine: (l) => lines.push(l.trim()),
    });
    expect(lines).toEqual([String(outcome.pid), String(outcome.pid)]);
  });

  it('stops grandchildren with the group', async () => {
    const { outcome, lines } = await runUntilReadyThenAbort(
      sh('sleep 300 & echo $!; (sleep 300 & echo $!; wait) & sleep 0.05; echo ready; wait'),
    );
    const grandchildren = lines.filter((l) => /^\d+$/.test(l)).map(Number);
    expect(grandchildren).toHaveLength(2);
    expect(outcome.kind).toBe('interrupted');
    expect(await eventually(() => liveGroupMembers(outcome.pid!).length === 0)).toBe(true);
  });

  it('escalates a child that ignores SIGTERM to SIGKILL after the grace, grandchildren included', async () => {
    const { outcome } = await runUntilReadyThenAbort(
      sh(`trap '' TERM; sleep 300 & echo ready; while :; do sleep 0.05; done`, { graceMs: 200 }),
    );
    expect(outcome).toMatchObject({ kind: 'interrupted', signal: 'SIGKILL', exitCode: null });
    expect(await eventually(() => liveGroupMembers(outcome.pid!).length === 0)).toBe(true);
  });

  it('kills stragglers the leader left behind when it exits on its own', async () => {
    // The straggler holds stdout open: without the kill the run would wait for the (long) drain timeout.
    const patient = new ProcessGroupRunner({ drainTimeoutMs: 600_000 });
    const outcome = await patient.run(sh('sleep 300 & exit 0'));
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(await eventually(() => groupsGone([outcome.pid!]))).toBe(true);
  });

  it('tells a timeout from an abort that comes later, and keeps the workload exit code', async () => {
    const controller = new AbortController();
    const outcome = await runner.run(sh(`trap 'exit 7' TERM; sleep 30 & wait`, { timeoutMs: 100 }), {
      signal: controller.signal,
      onSpawn: () => setTimeout(() => controller.abort(), 2_000),
    });
    expect(outcome).toMatchObject({ kind: 'timed-out', exitCode: 7, signal: null });
  });

  it('leaves no process behind after 50 start/stop cycles', async () => {
    const pgids: number[] = [];
    for (let i = 0; i < 50; i++) {
      const { outcome } = await runUntilReadyThenAbort(sh('sleep 30 & sleep 30 & echo ready; wait'));
      expect(outcome.kind).toBe('interrupted');
      pgids.push(outcome.pid!);
    }
    expect(new Set(pgids).size).toBe(50);
    expect(await eventually(() => groupsGone(pgids))).toBe(true);
  });

  it('runs the graceful stop command on stop and the force one only when the grace runs out', async () => {
    const record = join(scratch, 'docker-calls');
    const docker = join(scratch, 'docker');
    writeFileSync(docker, `#!/bin/sh\necho "$*" >> '${record}'\n`, { mode: 0o755 });
    const stopCommands = { graceful: [docker, 'stop', 'c1'], force: [docker, 'kill', 'c1'] };
    await runUntilReadyThenAbort(sh('sleep 300 & echo ready; wait', { stopCommands }));
    expect(readFileSync(record, 'utf8')).toBe('stop c1\n');
    rmSync(record);
    await runUntilReadyThenAbort(
      sh(`trap '' TERM; echo ready; while :; do sleep 0.05; done`, { stopCommands, graceMs: 600 }),
    );
    expect(readFileSync(record, 'utf8')).toBe('stop c1\nkill c1\n');
  });

  it('does not hang when a process that left the group (setsid) keeps stdout open', async () => {
    const lines: string[] = [];
    const quick = new ProcessGroupRunner({ drainTimeoutMs: 100 });
    const outcome = await quick.run(sh('setsid sleep 300 & echo $!; exit 0'), {
      onLine: (l) => lines.push(l),
    });
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    process.kill(Number(lines[0]), 'SIGKILL');
  });

  it('stops the workload and rejects with the error when a callback throws', async () => {
    const error = await runner
      .run(sh('echo boom; sleep 30'), {
        onLine: () => {
          throw new Error('callback failed');
        },
      })
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe('callback failed');
  });
});

describe('ProcessGroupRunner: spawn failures', () => {
  it('names the command and says permission denied for a file that is not executable', async () => {
    const script = join(scratch, 'not-executable.sh');
    writeFileSync(script, '#!/bin/sh\nexit 0\n');
    chmodSync(script, 0o644);
    const error = await runner.run({ argv: [script], env: baseEnv }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunnerError);
    expect((error as Error).message).toMatch(/not-executable\.sh.*permission denied/);
  });

  it('says not found and shows the PATH searched for a missing program', async () => {
    const error = await runner
      .run({ argv: ['no-such-tool-x'], env: { PATH: '/nonexistent' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RunnerError);
    expect((error as Error).message).toMatch(/'no-such-tool-x'.*not found.*\/nonexistent/);
  });

  it('refuses a cwd that is a file and a log file that cannot be opened', async () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, '');
    await expect(runner.run(sh('true', { cwd: file }))).rejects.toThrow(/not a directory/);
    await expect(runner.run(sh('true', { logFile: join(scratch, 'missing-dir', 'log') }))).rejects.toThrow(
      /log file.*ENOENT/,
    );
  });
});

describe('ProcessGroupRunner: output', () => {
  it('handles partial lines, CRLF, invalid UTF-8 and a last line without a newline', async () => {
    const lines: string[] = [];
    await runner.run(sh(`printf 'par'; sleep 0.05; printf 'tial\\r\\nbad \\377\\376\\n'; printf 'end'`), {
      onLine: (l) => lines.push(l),
    });
    expect(lines).toEqual(['partial', 'bad \uFFFD\uFFFD', 'end']);
  });

  it('splits a 200 KiB line without a newline into 64 KiB pieces', async () => {
    const lines: string[] = [];
    await runner.run(
      { argv: ['sh', '-c', 'head -c 204800 /dev/zero | tr "\\0" x'], env: baseEnv },
      {
        onLine: (l) => lines.push(l),
      },
    );
    expect(lines.map((l) => l.length)).toEqual([65536, 65536, 65536, 8192]);
  });

  it('appends raw stdout and stderr to the log file', async () => {
    const logFile = join(scratch, 'logs', 'run.log');
    mkdirSync(join(scratch, 'logs'));
    writeFileSync(logFile, 'before\n');
    await runner.run(sh('echo out; sleep 0.05; echo err >&2', { logFile }));
    expect(readFileSync(logFile, 'utf8')).toBe('before\nout\nerr\n');
  });

  it('streams a 100 MB burst line by line without holding it in memory', async () => {
    const script =
      'import sys\nout = sys.stdout.buffer\nblock = (b"x" * 99 + b"\\n") * 10000\nfor _ in range(100): out.write(block)\n';
    let count = 0;
    let chars = 0;
    let peakRss = 0;
    const rssBefore = process.memoryUsage().rss;
    const outcome = await runner.run(
      { argv: [python, '-c', script], env: baseEnv },
      {
        onLine: (line) => {
          count++;
          chars += line.length;
          if ((count & 0x3fff) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
        },
      },
    );
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(count).toBe(1_000_000);
    expect(chars).toBe(99_000_000);
    // Holding the output would cost 100+ MB; streaming costs a few pipe buffers and GC slack.
    expect(peakRss - rssBefore).toBeLessThan(80 * 1024 * 1024);
  });
});
