import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  parseProtocolLine,
  type Runner,
  type RunOptions,
  type RunOutcome,
  type RunSpec,
} from '../../../src/index.js';

/**
 * A minimal real Runner for core's tests (core cannot depend on @llem/runner-node): the workload
 * runs in its own process group; abort and timeout send SIGTERM to the group, then SIGKILL after
 * the grace period.
 */
export class ProcessGroupTestRunner implements Runner {
  readonly name = 'test-process-group';

  run(spec: RunSpec, options: RunOptions = {}): Promise<RunOutcome> {
    const started = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
      const child = spawn(spec.argv[0]!, spec.argv.slice(1), {
        env: { ...spec.env },
        cwd: spec.cwd,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stopReason: 'interrupted' | 'timed-out' | null = null;
      let killTimer: NodeJS.Timeout | undefined;
      const stop = (reason: 'interrupted' | 'timed-out') => {
        if (stopReason || child.pid === undefined) return;
        stopReason = reason;
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {}
        killTimer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {}
        }, spec.graceMs ?? 2000);
      };
      const onAbort = () => stop('interrupted');
      const timeout =
        spec.timeoutMs === undefined ? undefined : setTimeout(() => stop('timed-out'), spec.timeoutMs);
      child.on('spawn', () => {
        options.onSpawn?.(child.pid!);
        if (options.signal?.aborted) onAbort();
        else options.signal?.addEventListener('abort', onAbort, { once: true });
      });
      const log = (line: string) => {
        if (spec.logFile) appendFileSync(spec.logFile, `${line}\n`);
      };
      createInterface({ input: child.stdout! }).on('line', (line) => {
        log(line);
        const parsed = parseProtocolLine(line);
        if (parsed.kind === 'event') options.onEvent?.(parsed.event);
        else options.onLine?.(line, 'stdout');
      });
      createInterface({ input: child.stderr! }).on('line', (line) => {
        log(line);
        options.onLine?.(line, 'stderr');
      });
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timeout);
        clearTimeout(killTimer);
        options.signal?.removeEventListener('abort', onAbort);
        const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
        const kind = stopReason ?? (signal ? 'signaled' : 'exited');
        resolve({ kind, exitCode: code, signal, durationMs, pid: child.pid ?? null });
      });
    });
  }
}
