import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, createWriteStream, openSync, type WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  messageOf,
  type OutputStream,
  parseProtocolLine,
  type Runner,
  RunnerError,
  type RunOptions,
  type RunOutcome,
  type RunOutcomeKind,
  type RunSpec,
} from '@llem/core';
import { registerGroup, signalGroup, unregisterGroup } from './active-groups.js';
import { DEFAULT_MAX_LINE_LENGTH, LineSplitter } from './line-splitter.js';
import { checkWorkingDirectory, resolveExecutable } from './resolve-command.js';
import { watchdogShellArgs } from './watchdog.js';

export const DEFAULT_GRACE_MS = 10_000;

export interface ProcessGroupRunnerOptions {
  /** Longer output lines are delivered in pieces of this many characters. Default 64 KiB. */
  maxLineLength?: number;
  /**
   * After the group is dead, how long to wait for the output pipes to close. Only a process that
   * escaped the group (setsid) and still holds stdout can make this wait; then the pipes are cut.
   */
  drainTimeoutMs?: number;
  /** Upper bound for a stop command (`docker stop`, `docker kill`). Default 60 s. */
  stopCommandTimeoutMs?: number;
  /** The POSIX shell that hosts the watchdog. Default `/bin/sh`. */
  shell?: string;
}

type StopCause = Extract<RunOutcomeKind, 'timed-out' | 'interrupted'>;

/**
 * Runs each workload as the leader of its own process group, under a watchdog that kills the
 * group if llem dies (see watchdog.ts). Stop = SIGTERM to the group (+ graceful stop command),
 * a grace period, then SIGKILL (+ force stop command); once the leader exits, the rest of the
 * group is SIGKILLed so no straggler outlives the run.
 */
export class ProcessGroupRunner implements Runner {
  readonly name = 'process-group';

  constructor(private readonly options: ProcessGroupRunnerOptions = {}) {}

  async run(spec: RunSpec, options: RunOptions = {}): Promise<RunOutcome> {
    const label = spec.label ?? spec.argv[0] ?? '(empty argv)';
    const [command, ...args] = spec.argv;
    if (command === undefined)
      throw new RunnerError('Cannot run an empty argv.', { fix: 'Give at least the program.' });
    const cwd = spec.cwd ?? process.cwd();
    checkWorkingDirectory(cwd, command);
    const executable = resolveExecutable(command, spec.env, cwd);
    if (options.signal?.aborted)
      return { kind: 'interrupted', exitCode: null, signal: null, durationMs: 0, pid: null };
    const log = spec.logFile ? openLog(spec.logFile, command) : undefined;

    const shell = this.options.shell ?? '/bin/sh';
    const graceMs = spec.graceMs ?? DEFAULT_GRACE_MS;
    const shellArgs = watchdogShellArgs({
      keepPwd: spec.env.PWD !== undefined,
      graceMs,
      graceful: spec.stopCommands?.graceful,
      force: spec.stopCommands?.force,
      argv: [executable, ...args],
    });
    const startedAt = performance.now();
    let child: ChildProcess;
    try {
      child = spawn(shell, shellArgs, {
        cwd,
        env: { ...spec.env },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      });
    } catch (error) {
      log?.destroy();
      throw new RunnerError(`Cannot start '${command}': ${messageOf(error)}`, { cause: error });
    }
    return new GroupRun(child, spec, options, {
      label,
      command,
      startedAt,
      graceMs,
      log,
      maxLineLength: this.options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
      drainTimeoutMs: this.options.drainTimeoutMs ?? 2_000,
      stopCommandTimeoutMs: this.options.stopCommandTimeoutMs ?? 60_000,
    }).done;
  }
}

interface GroupRunSettings {
  label: string;
  command: string;
  startedAt: number;
  graceMs: number;
  log: WriteStream | undefined;
  maxLineLength: number;
  drainTimeoutMs: number;
  stopCommandTimeoutMs: number;
}

/** One run: owns the child, its timers, output and stop sequence. */
class GroupRun {
  readonly done: Promise<RunOutcome>;
  private resolve!: (outcome: RunOutcome) => void;
  private reject!: (error: unknown) => void;
  private pid: number | null = null;
  private stopCause: StopCause | null = null;
  private callbackError: unknown = null;
  private exited = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly stopCommands: Promise<void>[] = [];
  private gracefulOk: Promise<boolean> = Promise.resolve(true);
  private readonly onAbort = () => this.stop('interrupted');

  constructor(
    private readonly child: ChildProcess,
    private readonly spec: RunSpec,
    private readonly options: RunOptions,
    private readonly settings: GroupRunSettings,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    child.once('error', (error) => this.onSpawnError(error));
    // The watchdog's socket and the output pipes may report a reset when the group dies: expected.
    for (const stream of child.stdio) stream?.on('error', () => {});
    child.once('spawn', () => this.onSpawned());
    child.once('exit', (code, signal) => void this.onExit(code, signal));
    const stdout = this.wireOutput(child.stdout!, 'stdout');
    const stderr = this.wireOutput(child.stderr!, 'stderr');
    this.outputClosed = Promise.all([stdout, stderr]).then(() => {});
  }

  private outputClosed: Promise<void>;

  private onSpawnError(error: Error): void {
    if (this.pid !== null) return; // a failed kill() after start; the exit path handles the rest
    this.settings.log?.destroy();
    this.reject(
      new RunnerError(`Cannot start '${this.settings.command}': ${error.message}`, {
        cause: error,
        fix: 'Check the command, its permissions and the working directory.',
      }),
    );
  }

  private onSpawned(): void {
    const pid = this.child.pid!;
    this.pid = pid;
    registerGroup({ pgid: pid, force: this.spec.stopCommands?.force, env: this.spec.env });
    this.guard(() => this.options.onSpawn?.(pid));
    if (this.spec.timeoutMs !== undefined) {
      this.timers.push(setTimeout(() => this.stop('timed-out'), this.spec.timeoutMs));
    }
    const signal = this.options.signal;
    if (signal) {
      if (signal.aborted) this.stop('interrupted');
      else signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  /** Polite stop, then SIGKILL after the grace period. The first cause wins. */
  private stop(cause: StopCause): void {
    if (this.stopCause !== null || this.exited || this.pid === null) return;
    this.stopCause = cause;
    const pid = this.pid;
    signalGroup(pid, 'SIGTERM');
    const graceful = this.spec.stopCommands?.graceful;
    if (graceful?.length) this.gracefulOk = this.runStopCommand(graceful, this.settings.graceMs);
    this.timers.push(setTimeout(() => this.escalate(), this.settings.graceMs));
    // A graceful stop command that fails means the polite way did not work: escalate now.
    void this.gracefulOk.then((ok) => {
      if (!ok) this.escalate();
    });
  }

  private escalated = false;
  private escalate(): void {
    if (this.escalated || this.pid === null) return;
    this.escalated = true;
    // After the leader's exit the group was SIGKILLed already and its pgid may be free again.
    if (!this.exited) signalGroup(this.pid, 'SIGKILL');
    const force = this.spec.stopCommands?.force;
    if (force?.length) void this.runStopCommand(force, this.settings.stopCommandTimeoutMs);
  }

  /** Runs a stop command outside the workload's group (and outside llem's, so Ctrl+C spares it). */
  private runStopCommand(argv: readonly string[], timeoutMs: number): Promise<boolean> {
    const [command, ...args] = argv as [string, ...string[]];
    const result = new Promise<boolean>((resolve) => {
      let proc: ChildProcess;
      try {
        proc = spawn(command, args, { env: { ...this.spec.env }, stdio: 'ignore', detached: true });
      } catch {
        resolve(false);
        return;
      }
      const timer = setTimeout(() => {
        if (proc.pid !== undefined) signalGroup(proc.pid, 'SIGKILL');
      }, timeoutMs);
      proc.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code === 0);
      });
    });
    this.stopCommands.push(result.then(() => {}));
    return result;
  }

  private async onExit(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const durationMs = performance.now() - this.settings.startedAt;
    this.exited = true;
    const pid = this.pid ?? this.child.pid ?? null;
    // The leader is gone: whatever it left behind (and the watchdog) goes now. The watchdog kept
    // the pgid in use until this moment, so this cannot hit a recycled group.
    if (pid !== null) signalGroup(pid, 'SIGKILL');
    this.options.signal?.removeEventListener('abort', this.onAbort);
    if (this.stopCause !== null) {
      // Let a running graceful stop command finish (it is bounded by the grace period), then the
      // force command if the grace ran out.
      await this.gracefulOk;
    } else {
      for (const timer of this.timers) clearTimeout(timer);
    }
    await this.drainOutput();
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.all(this.stopCommands);
    if (pid !== null) unregisterGroup(pid);
    await closeLog(this.settings.log);
    this.child.stdio[3]?.destroy();
    if (this.callbackError !== null) {
      this.reject(this.callbackError);
      return;
    }
    const kind: RunOutcomeKind = this.stopCause ?? (signal !== null ? 'signaled' : 'exited');
    this.resolve({ kind, exitCode: code, signal, durationMs, pid });
  }

  /** Waits for stdout and stderr to reach EOF; cuts them if an escaped process keeps them open. */
  private async drainOutput(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const cut = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.child.stdout?.destroy();
        this.child.stderr?.destroy();
        resolve();
      }, this.settings.drainTimeoutMs);
    });
    await Promise.race([this.outputClosed, cut]);
    clearTimeout(timer);
  }

  /** Splits a stream into lines for the callbacks and copies raw bytes to the log file. */
  private wireOutput(stream: Readable, name: OutputStream): Promise<void> {
    const { onLine, onEvent } = this.options;
    const deliver =
      name === 'stdout'
        ? (line: string) => {
            const parsed = parseProtocolLine(line);
            if (parsed.kind === 'event' && onEvent) onEvent(parsed.event);
            else onLine?.(line, name);
          }
        : (line: string) => onLine?.(line, name);
    const splitter = new LineSplitter((line) => this.guard(() => deliver(line)), this.settings.maxLineLength);
    const log = this.settings.log;
    stream.on('data', (chunk: Buffer) => {
      if (log && !log.write(chunk)) {
        // Backpressure: a slow disk pauses the pipe instead of buffering output in memory.
        stream.pause();
        log.once('drain', () => stream.resume());
      }
      splitter.push(chunk);
    });
    return new Promise((resolve) => {
      stream.once('close', () => {
        splitter.end();
        resolve();
      });
    });
  }

  /** A throwing callback must not crash llem: remember it, stop the workload, reject at the end. */
  private guard(fn: () => void): void {
    if (this.callbackError !== null) return;
    try {
      fn();
    } catch (error) {
      this.callbackError = error;
      this.stop('interrupted');
    }
  }
}

function openLog(path: string, command: string): WriteStream {
  let fd: number;
  try {
    fd = openSync(path, 'a');
  } catch (error) {
    throw new RunnerError(
      `Cannot start '${command}': cannot open log file ${path} (${(error as NodeJS.ErrnoException).code}).`,
      {
        cause: error,
        fix: 'Check that the log directory exists and is writable.',
      },
    );
  }
  try {
    return createWriteStream(path, { fd, flags: 'a' });
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

function closeLog(log: WriteStream | undefined): Promise<void> {
  if (!log || log.destroyed) return Promise.resolve();
  return new Promise((resolve) => log.end(() => resolve()));
}
