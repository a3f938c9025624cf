import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { appendFile, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  parseProtocolLine,
  type Runner,
  RunnerError,
  type RunOptions,
  type RunOutcome,
  type RunSpec,
} from '@llem/core';
import { interruptibleSleep } from '@llem/core/orchestration';
import { batchScript, parseJobShape, type SlurmJobShape, sbatchOptions } from './job-shape.js';
import { isActiveState, SlurmCommands, type SlurmJobInfo } from './slurm-commands.js';

export interface SlurmRunnerOptions {
  shape?: SlurmJobShape;
  commands?: SlurmCommands;
  /** How often squeue and the job's output files are read (default 1000 ms). */
  pollMs?: number;
  /** Where job scripts and output files go; must be visible to the compute nodes (default: tmpdir). */
  scratchDir?: string;
}

const SIGNAL_NAMES: Record<number, NodeJS.Signals> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  6: 'SIGABRT',
  9: 'SIGKILL',
  15: 'SIGTERM',
};

/**
 * The Runner contract on Slurm: one RunSpec becomes one batch job running exactly its argv, env
 * and cwd; its output files are followed line by line; a timeout or an abort signals the job
 * (SIGTERM, then SIGKILL after graceMs) and waits until Slurm reports it ended. `pid` is the
 * numeric job id. `llem run --runner slurm` uses `runStudyOnSlurm` instead (a job runs a whole
 * `llem exec`, energy meter included, on its node).
 */
export class SlurmRunner implements Runner {
  readonly name = 'slurm';
  private readonly shape: SlurmJobShape;
  private readonly slurm: SlurmCommands;
  private readonly pollMs: number;

  constructor(private readonly options: SlurmRunnerOptions = {}) {
    this.shape = options.shape ?? parseJobShape({});
    this.slurm = options.commands ?? new SlurmCommands();
    this.pollMs = options.pollMs ?? 1000;
  }

  async run(spec: RunSpec, options: RunOptions = {}): Promise<RunOutcome> {
    const t0 = Date.now();
    const { signal } = options;
    if (signal?.aborted)
      return { kind: 'interrupted', exitCode: null, signal: null, durationMs: 0, pid: null };
    assertRunnable(spec);
    const dir = await mkdtemp(join(this.options.scratchDir ?? tmpdir(), 'llem-slurm-job-'));
    try {
      const script = join(dir, 'job.sh');
      await writeFile(script, batchScript(this.shape), { mode: 0o755 });
      const out = join(dir, 'stdout');
      const err = join(dir, 'stderr');
      // The job gets exactly spec.env (sbatch exports its own environment), plus what Slurm adds.
      const env: Record<string, string> = { ...spec.env };
      if (process.env.SLURM_CONF && !env.SLURM_CONF) env.SLURM_CONF = process.env.SLURM_CONF;
      const slurm = this.options.commands ?? new SlurmCommands(undefined, env);
      const jobId = await slurm.sbatch([
        `--job-name=llem-${(spec.label ?? 'run').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40)}`,
        `--chdir=${spec.cwd ?? process.cwd()}`,
        `--output=${out}`,
        `--error=${err}`,
        '--export=ALL',
        ...sbatchOptions(this.shape),
        script,
        ...spec.argv,
      ]);
      options.onSpawn?.(Number(jobId));
      const readers = [new Tail(out, 'stdout', spec, options), new Tail(err, 'stderr', spec, options)];
      let stop: { kind: 'timed-out' | 'interrupted'; at: number; signal: NodeJS.Signals } | null = null;
      let started: number | null = null;
      let job: SlurmJobInfo | undefined;
      for (;;) {
        job = (await this.slurm.squeue([jobId])).get(jobId);
        for (const reader of readers) await reader.poll();
        if (!job || !isActiveState(job.state)) break;
        if (started === null && job.state === 'RUNNING') started = Date.now();
        const now = Date.now();
        if (!stop && signal?.aborted) stop = { kind: 'interrupted', at: now, signal: 'SIGTERM' };
        if (!stop && spec.timeoutMs !== undefined && started !== null && now - started > spec.timeoutMs)
          stop = { kind: 'timed-out', at: now, signal: 'SIGTERM' };
        if (stop && stop.at === now) await this.signalJob(jobId, job.state, 'TERM');
        else if (stop?.signal === 'SIGTERM' && now - stop.at > (spec.graceMs ?? 10_000)) {
          stop.signal = 'SIGKILL';
          await this.signalJob(jobId, job.state, 'KILL');
        }
        await interruptibleSleep(this.pollMs, stop ? undefined : signal);
      }
      for (const reader of readers) await reader.poll(true);
      const durationMs = Date.now() - t0;
      const pid = Number(jobId);
      if (stop) return { kind: stop.kind, exitCode: null, signal: stop.signal, durationMs, pid };
      if (!job) job = (await this.slurm.sacct([jobId])).get(jobId);
      if (job?.signal)
        return {
          kind: 'signaled',
          exitCode: null,
          signal: SIGNAL_NAMES[job.signal] ?? 'SIGTERM',
          durationMs,
          pid,
        };
      return { kind: 'exited', exitCode: job?.exitCode ?? null, signal: null, durationMs, pid };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** A pending job is cancelled; a running one is signalled (its process decides how it ends). */
  private async signalJob(jobId: string, state: string, sig: 'TERM' | 'KILL'): Promise<void> {
    if (state === 'PENDING') await this.slurm.cancel([jobId], { timeoutMs: 0 });
    else await this.slurm.signal(jobId, sig);
  }
}

/** A missing program or working directory is refused here, before anything is queued. */
function assertRunnable(spec: RunSpec): void {
  const program = spec.argv[0];
  if (!program) throw new RunnerError('Nothing to run: the argv is empty.');
  const candidates = program.includes('/')
    ? [program]
    : (spec.env.PATH ?? '').split(delimiter).map((dir) => join(dir, program));
  const found = candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  });
  if (!found)
    throw new RunnerError(
      `Cannot run ${program}: not found or not executable${program.includes('/') ? '' : ' on PATH'}.`,
      {
        fix: 'Install it on the compute nodes, or give its absolute path.',
      },
    );
  if (spec.cwd && !existsSync(spec.cwd))
    throw new RunnerError(`Working directory ${spec.cwd} does not exist.`, {
      fix: 'Create it on the shared filesystem first.',
    });
}

/** Follows one output file of a job: new complete lines go to onEvent / onLine (and the log file). */
class Tail {
  private offset = 0;
  private partial = '';

  constructor(
    private readonly path: string,
    private readonly stream: 'stdout' | 'stderr',
    private readonly spec: RunSpec,
    private readonly options: RunOptions,
  ) {}

  async poll(final = false): Promise<void> {
    let text = '';
    try {
      const handle = await open(this.path, 'r');
      try {
        const { size } = await handle.stat();
        if (size > this.offset) {
          const buffer = Buffer.alloc(size - this.offset);
          await handle.read(buffer, 0, buffer.length, this.offset);
          this.offset = size;
          text = buffer.toString('utf8');
        }
      } finally {
        await handle.close();
      }
    } catch {
      return; // not created yet
    }
    if (text && this.spec.logFile) await appendFile(this.spec.logFile, text);
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    if (final && this.partial) {
      lines.push(this.partial);
      this.partial = '';
    }
    for (const line of lines) {
      const parsed = this.stream === 'stdout' ? parseProtocolLine(line) : null;
      if (parsed?.kind === 'event') this.options.onEvent?.(parsed.event);
      else this.options.onLine?.(line, this.stream);
    }
  }
}
