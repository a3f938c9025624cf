import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { messageOf, RunnerError } from '../errors.js';
import type { OutputStream, Runner, RunSpec } from '../plugins/runner.js';
import { formatProtocolEvent, type ProtocolEvent } from '../protocol/events.js';

/**
 * The behaviour every Runner must have (process groups here, Slurm jobs later). Uses only the
 * Runner interface and real `sh` processes. Usage in a vitest file:
 *   describeRunnerContract('ProcessGroupRunner', () => new ProcessGroupRunner());
 */
export function describeRunnerContract(name: string, factory: () => Runner | Promise<Runner>): void {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const sh = (script: string, extra: Partial<RunSpec> = {}): RunSpec => ({
    argv: ['sh', '-c', script],
    env,
    graceMs: 2_000,
    ...extra,
  });
  const scratch = mkdtempSync(join(tmpdir(), 'llem-runner-contract-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  describe(`Runner contract: ${name}`, () => {
    it('has a name', async () => {
      const runner = await factory();
      expect(typeof runner.name).toBe('string');
      expect(runner.name.length).toBeGreaterThan(0);
    });

    it('reports a zero and a non-zero exit code exactly', async () => {
      const runner = await factory();
      const ok = await runner.run(sh('exit 0'));
      expect(ok).toMatchObject({ kind: 'exited', exitCode: 0, signal: null });
      const failed = await runner.run(sh('exit 42'));
      expect(failed).toMatchObject({ kind: 'exited', exitCode: 42, signal: null });
      expect(failed.durationMs).toBeGreaterThanOrEqual(0);
      expect(typeof failed.pid).toBe('number');
    });

    it('reports death by a signal as signaled, naming the signal', async () => {
      const runner = await factory();
      expect(await runner.run(sh('kill -TERM $$'))).toMatchObject({
        kind: 'signaled',
        exitCode: null,
        signal: 'SIGTERM',
      });
      expect(await runner.run(sh('kill -KILL $$'))).toMatchObject({
        kind: 'signaled',
        exitCode: null,
        signal: 'SIGKILL',
      });
    });

    it('calls onSpawn with the pid it reports in the outcome', async () => {
      const runner = await factory();
      const pids: number[] = [];
      const outcome = await runner.run(sh('exit 0'), { onSpawn: (pid) => pids.push(pid) });
      expect(pids).toEqual([outcome.pid]);
    });

    it('stops a workload that runs past timeoutMs and says timed-out', async () => {
      const runner = await factory();
      const outcome = await runner.run(sh('sleep 30', { timeoutMs: 200 }));
      expect(outcome).toMatchObject({ kind: 'timed-out', exitCode: null, signal: 'SIGTERM' });
    });

    it('stops a workload when the AbortSignal fires and says interrupted, not timed-out', async () => {
      const runner = await factory();
      const controller = new AbortController();
      const outcome = await runner.run(sh('echo up; sleep 30', { timeoutMs: 20_000 }), {
        signal: controller.signal,
        onLine: (line) => {
          if (line === 'up') controller.abort();
        },
      });
      expect(outcome.kind).toBe('interrupted');
      expect(outcome.signal).toBe('SIGTERM');
    });

    it('does not start anything when the signal is already aborted', async () => {
      const runner = await factory();
      const marker = join(scratch, 'must-not-exist');
      const controller = new AbortController();
      controller.abort();
      const outcome = await runner.run(sh(`touch ${marker}`), { signal: controller.signal });
      expect(outcome.kind).toBe('interrupted');
      expect(existsSync(marker)).toBe(false);
    });

    it('escalates to SIGKILL when the workload ignores SIGTERM', async () => {
      const runner = await factory();
      const controller = new AbortController();
      const outcome = await runner.run(
        sh(`trap '' TERM; echo up; while :; do sleep 0.05; done`, { graceMs: 300 }),
        {
          signal: controller.signal,
          onLine: (line) => {
            if (line === 'up') controller.abort();
          },
        },
      );
      expect(outcome).toMatchObject({ kind: 'interrupted', signal: 'SIGKILL' });
    });

    it('delivers protocol events to onEvent and every other line to onLine', async () => {
      const runner = await factory();
      const loaded = formatProtocolEvent({ event: 'loaded' }, 1n);
      const windowStart = formatProtocolEvent({ event: 'window-start' }, 2n);
      const script = [
        `echo 'plain log'`,
        `printf '%s\\n' '${loaded}'`,
        `echo 'to stderr' >&2`,
        `printf '%s\\n' '@@llem {not json'`,
        `printf '%s\\n' '${windowStart}'`,
      ].join('; ');
      const events: ProtocolEvent[] = [];
      const lines: [string, OutputStream][] = [];
      await runner.run(sh(script), { onEvent: (e) => events.push(e), onLine: (l, s) => lines.push([l, s]) });
      expect(events.map((e) => [e.event, e.t_mono_ns])).toEqual([
        ['loaded', '1'],
        ['window-start', '2'],
      ]);
      expect(lines).toContainEqual(['plain log', 'stdout']);
      expect(lines).toContainEqual(['to stderr', 'stderr']);
      expect(lines).toContainEqual(['@@llem {not json', 'stdout']);
      expect(lines.some(([l]) => l.includes('"event"'))).toBe(false);
    });

    it('gives the workload exactly the environment and working directory of the spec', async () => {
      const runner = await factory();
      const lines: string[] = [];
      process.env.LLEM_CONTRACT_NOT_INHERITED = 'leak';
      try {
        await runner.run(
          // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not JS
          sh('echo "A=$LLEM_CONTRACT_A"; echo "B=${LLEM_CONTRACT_NOT_INHERITED-unset}"; pwd', {
            env: { ...env, LLEM_CONTRACT_A: 'x y' },
            cwd: scratch,
          }),
          { onLine: (l) => lines.push(l) },
        );
      } finally {
        delete process.env.LLEM_CONTRACT_NOT_INHERITED;
      }
      expect(lines).toEqual(['A=x y', 'B=unset', scratch]);
    });

    it('passes argv words through unchanged (no shell parsing)', async () => {
      const runner = await factory();
      const lines: string[] = [];
      const tricky = ['$HOME', '`id`', "a'b", '"q"', ' spaced ', '*'];
      await runner.run(
        { argv: ['sh', '-c', 'for a in "$@"; do printf "[%s]\\n" "$a"; done', 'sh', ...tricky], env },
        {
          onLine: (l) => lines.push(l),
        },
      );
      expect(lines).toEqual(tricky.map((t) => `[${t}]`));
    });

    it('rejects a missing executable with a RunnerError naming the command', async () => {
      const runner = await factory();
      const missing = 'llem-contract-no-such-program';
      const error = await runner.run({ argv: [missing, '--flag'], env }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RunnerError);
      expect(messageOf(error)).toContain(missing);
    });

    it('rejects a working directory that does not exist with a RunnerError', async () => {
      const runner = await factory();
      const error = await runner
        .run(sh('exit 0', { cwd: join(scratch, 'no', 'such', 'dir') }))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RunnerError);
      expect(messageOf(error)).toContain('no/such/dir');
    });
  });
}
