import { execFile } from 'node:child_process';
import { RunnerError } from '@llem/core';

/**
 * The Slurm client commands llem uses, each spawned as an argv array (never a shell string).
 * `SLURM_CONF` and the rest of the environment are inherited unless `env` is given.
 */

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type CommandExecutor = (
  argv: readonly string[],
  options?: { env?: NodeJS.ProcessEnv; cwd?: string },
) => Promise<CommandResult>;

/** Runs a command to completion; a missing program is code 127 with the reason in stderr. */
export const execCommand: CommandExecutor = (argv, options = {}) =>
  new Promise((resolve) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      { env: options.env ?? process.env, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const err = error as (NodeJS.ErrnoException & { code?: number | string }) | null;
        if (err && typeof err.code === 'string')
          resolve({ code: 127, stdout: '', stderr: `${argv[0]}: ${err.message}` });
        else resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
      },
    );
  });

/** One job as squeue / sacct report it. `id` is `<job>` or `<array job>_<task>`. */
export interface SlurmJobInfo {
  id: string;
  state: string;
  /** Why it is pending, or why it ended (Slurm's Reason). */
  reason: string | null;
  exitCode: number | null;
  signal: number | null;
}

/** Job states after which nothing more happens to a job. */
const ACTIVE_STATES = new Set([
  'PENDING',
  'CONFIGURING',
  'RUNNING',
  'COMPLETING',
  'SUSPENDED',
  'RESIZING',
  'REQUEUED',
  'REQUEUE_FED',
  'REQUEUE_HOLD',
  'RESV_DEL_HOLD',
  'SIGNALING',
  'STAGE_OUT',
  'STOPPED',
]);

/** Reasons a pending job will never start: it is cancelled and failed instead of waited for. */
export const HOPELESS_PENDING_REASONS: readonly string[] = [
  'BadConstraints',
  'PartitionConfig',
  'InvalidAccount',
  'InvalidQOS',
  'DependencyNeverSatisfied',
];

export function isActiveState(state: string): boolean {
  return ACTIVE_STATES.has(state.split(/[ +]/)[0]!.toUpperCase());
}

export class SlurmCommands {
  constructor(
    private readonly exec: CommandExecutor = execCommand,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  private run(argv: readonly string[], cwd?: string): Promise<CommandResult> {
    return this.exec(argv, { env: this.env, cwd });
  }

  /** `sbatch --parsable ...`: the job id (an array job's base id). sbatch's refusal is a RunnerError. */
  async sbatch(args: readonly string[], cwd?: string): Promise<string> {
    const result = await this.run(['sbatch', '--parsable', ...args], cwd);
    const id = result.stdout.trim().split(';')[0] ?? '';
    if (result.code !== 0 || !/^\d+$/.test(id)) {
      throw new RunnerError(`sbatch refused the job: ${oneLine(result.stderr || result.stdout)}`, {
        fix: 'Check the job shape (partition, account, QoS, time, GPUs, CPUs, memory) against `sinfo` and your allocation.',
      });
    }
    return id;
  }

  /**
   * `sbatch --test-only`: would Slurm accept and ever run this job? A refusal (no such
   * partition, GPUs or memory no node has) is a RunnerError with Slurm's words. Held jobs skip
   * this check in Slurm itself and would pend forever, so llem asks first.
   */
  async testOnly(args: readonly string[], cwd?: string): Promise<void> {
    const result = await this.run(['sbatch', '--test-only', ...args], cwd);
    if (result.code !== 0) {
      throw new RunnerError(`sbatch refused the job: ${oneLine(result.stderr || result.stdout)}`, {
        fix: 'Check the job shape (partition, account, QoS, time, GPUs, CPUs, memory) against `sinfo` and your allocation.',
      });
    }
  }

  /** Releases held jobs (`scontrol release`). */
  async release(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const result = await this.run(['scontrol', 'release', ids.join(',')]);
    if (result.code !== 0)
      throw new RunnerError(`scontrol release ${ids.join(',')} failed: ${oneLine(result.stderr)}`);
  }

  /**
   * The jobs squeue still knows (active ones, and finished ones for MinJobAge seconds), keyed by
   * id. A job missing from the map has left squeue. Array tasks are keyed `<array>_<task>`; the
   * still-pending tasks of an array come as one record and are expanded.
   */
  async squeue(ids: readonly string[]): Promise<Map<string, SlurmJobInfo>> {
    const jobs = new Map<string, SlurmJobInfo>();
    if (ids.length === 0) return jobs;
    const base = [...new Set(ids.map((id) => id.split('_')[0]!))];
    const result = await this.run(['squeue', '--json', '--states=all', `--jobs=${base.join(',')}`]);
    if (result.code !== 0) {
      // Every id unknown (left squeue): squeue says so and exits 1.
      if (/Invalid job id/i.test(result.stderr)) return jobs;
      throw new RunnerError(`squeue failed: ${oneLine(result.stderr)}`, {
        fix: 'Check that the Slurm controller is reachable (`scontrol ping`).',
      });
    }
    const parsed = JSON.parse(result.stdout) as { jobs?: SqueueJob[] };
    for (const job of parsed.jobs ?? []) for (const info of fromSqueue(job)) jobs.set(info.id, info);
    return jobs;
  }

  /**
   * Finished jobs from accounting: `sacct` when slurmdbd runs, else `sacct -c` (the
   * jobcomp/filetxt completion log). Empty when neither is configured.
   */
  async sacct(ids: readonly string[]): Promise<Map<string, SlurmJobInfo>> {
    const jobs = new Map<string, SlurmJobInfo>();
    if (ids.length === 0) return jobs;
    const fields = ['-P', '-n', '-X', '-o', 'JobID,State,ExitCode', `--jobs=${ids.join(',')}`];
    let result = await this.run(['sacct', ...fields]);
    if (result.code !== 0) result = await this.run(['sacct', '-c', ...fields]);
    if (result.code !== 0) return jobs;
    for (const line of result.stdout.split('\n')) {
      const [id, state, exit] = line.trim().split('|');
      if (!id || !state) continue;
      const [code, sig] = (exit ?? '').split(':').map(Number);
      jobs.set(id, {
        id,
        state: state.split(' ')[0]!,
        reason: null,
        exitCode: Number.isFinite(code) ? code! : null,
        signal: sig ? sig : null,
      });
    }
    return jobs;
  }

  /**
   * Cancels jobs and waits until squeue shows none of them active. scancel's exit code proves
   * nothing (an unknown id exits 0), so the queue is checked. After `graceMs`, the rest get
   * SIGKILL. Returns the ids still active at `timeoutMs` (empty: all gone).
   */
  async cancel(
    ids: readonly string[],
    options: { graceMs?: number; timeoutMs?: number; pollMs?: number } = {},
  ): Promise<string[]> {
    if (ids.length === 0) return [];
    const { graceMs = 10_000, timeoutMs = 60_000, pollMs = 200 } = options;
    await this.run(['scancel', ...ids]);
    const t0 = Date.now();
    let killed = false;
    for (;;) {
      const queue = await this.squeue(ids);
      const active = ids.filter((id) => {
        const job = queue.get(id) ?? [...queue.values()].find((j) => j.id.split('_')[0] === id);
        return job !== undefined && isActiveState(job.state);
      });
      if (active.length === 0) return [];
      if (Date.now() - t0 > timeoutMs) return active;
      if (!killed && Date.now() - t0 > graceMs) {
        killed = true;
        await this.run(['scancel', '--signal=KILL', '--full', ...active]);
        await this.run(['scancel', ...active]);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}

interface SqueueJob {
  job_id: number;
  array_job_id?: number;
  array_task_id?: number | null;
  array_task_string?: string;
  job_state: string;
  state_reason?: string;
  exit_code?: number;
}

function fromSqueue(job: SqueueJob): SlurmJobInfo[] {
  const status = job.exit_code ?? null;
  // squeue's exit_code is a wait status: exit code in the high byte, signal in the low bits.
  const signal = status === null ? null : status & 0x7f;
  const common = {
    state: job.job_state,
    reason: job.state_reason && job.state_reason !== 'None' ? job.state_reason : null,
    exitCode: status === null ? null : signal ? null : status >> 8,
    signal: signal ? signal : null,
  };
  if (!job.array_job_id) return [{ id: String(job.job_id), ...common }];
  if (job.array_task_id !== null && job.array_task_id !== undefined)
    return [{ id: `${job.array_job_id}_${job.array_task_id}`, ...common }];
  return expandTaskString(job.array_task_string ?? '').map((task) => ({
    id: `${job.array_job_id}_${task}`,
    ...common,
  }));
}

/** `0-3,7%2` -> [0, 1, 2, 3, 7]. */
export function expandTaskString(text: string): number[] {
  const tasks: number[] = [];
  for (const part of text.split('%')[0]!.split(',')) {
    const [from, to] = part.split('-').map(Number);
    if (from === undefined || !Number.isFinite(from)) continue;
    for (let t = from; t <= (to ?? from); t++) tasks.push(t);
  }
  return tasks;
}

function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, ' | ') || '(no message)';
}
