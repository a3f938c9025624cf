import { readFile } from 'node:fs/promises';
import { ConfigError, messageOf, type SchedulerJob, writeFileAtomic } from '@llem/core';
import { z } from 'zod';

/**
 * The manifest `llem exec` reads on a compute node: which experiment-cycles one submission holds
 * and where their store and results live. Written by the submitter into the study directory (on
 * the shared filesystem); job `i` (or array task `i`) runs `runs[i]`. It holds no secrets.
 */
export const EXEC_FILE_SCHEMA = 'llem.slurm-exec/1';

const ExecRunSchema = z.strictObject({
  experimentId: z.string().min(1),
  configHash: z.string().regex(/^[0-9a-f]{16}$/),
  cycle: z.number().int().nonnegative().nullable(),
  resultDirName: z.string().min(1),
  /** The resolved experiment config; `llem exec` re-validates it and checks its hash. */
  config: z.record(z.string(), z.unknown()),
});

export const ExecFileSchema = z.strictObject({
  schema: z.literal(EXEC_FILE_SCHEMA),
  /** Which executor reads it (`llem exec` resolves it by name). */
  executor: z.literal('slurm'),
  studyId: z.string().nullable(),
  /** Where result directories go (the study directory). */
  outputDir: z.string().min(1),
  store: z.strictObject({ name: z.string().min(1), dir: z.string().min(1) }),
  launch: z.enum(['local', 'docker']).nullable(),
  /** Plugin modules to load (absolute paths or package names), as the submitter had them. */
  plugins: z.array(z.string()),
  runs: z.array(ExecRunSchema).min(1),
});
export type ExecFile = z.infer<typeof ExecFileSchema>;
export type ExecRun = z.infer<typeof ExecRunSchema>;

export async function writeExecFile(path: string, file: ExecFile): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`);
}

export async function readExecFile(path: string): Promise<ExecFile> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`llem exec: cannot read ${path}: ${messageOf(error)}`, {
      fix: 'The submitter writes this file into the study directory; it must be on a filesystem every node mounts.',
    });
  }
  const parsed = ExecFileSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ConfigError(
      `llem exec: ${path} is not an exec file: ${first?.path.join('.') || '(root)'}: ${first?.message}`,
      { fix: 'Use the same llem version on the submit host and the compute nodes.' },
    );
  }
  return parsed.data;
}

/** The Slurm job this process runs in: `<array>_<task>` for an array task, else SLURM_JOB_ID. */
export function slurmJobFromEnv(env: NodeJS.ProcessEnv = process.env): SchedulerJob | null {
  const array = env.SLURM_ARRAY_JOB_ID;
  const task = env.SLURM_ARRAY_TASK_ID;
  if (array && task) return { name: 'slurm', jobId: `${array}_${task}` };
  return env.SLURM_JOB_ID ? { name: 'slurm', jobId: env.SLURM_JOB_ID } : null;
}

/** Which run of the file to execute: `--index`, else the array task id. */
export function execIndex(
  file: ExecFile,
  index: number | undefined,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const chosen =
    index ?? (env.SLURM_ARRAY_TASK_ID === undefined ? undefined : Number(env.SLURM_ARRAY_TASK_ID));
  if (chosen === undefined && file.runs.length === 1) return 0;
  if (chosen === undefined || !Number.isInteger(chosen) || chosen < 0 || chosen >= file.runs.length) {
    throw new ConfigError(
      `llem exec: no run ${chosen ?? '(no --index, no SLURM_ARRAY_TASK_ID)'} in an exec file of ${file.runs.length} run(s).`,
      { fix: 'Pass --index <n> (0-based), or run it as a task of the job array it was written for.' },
    );
  }
  return chosen;
}

/**
 * GPU indices Slurm allocated to this job (SLURM_JOB_GPUS / SLURM_STEP_GPUS: node-level indices,
 * as NVML numbers them), for the energy meter; null outside a GPU job.
 */
export function slurmGpuIndices(env: NodeJS.ProcessEnv = process.env): number[] | null {
  const list = env.SLURM_STEP_GPUS ?? env.SLURM_JOB_GPUS;
  if (!list) return null;
  const indices = list.split(',').map((s) => Number(s.trim()));
  return indices.length > 0 && indices.every((i) => Number.isInteger(i) && i >= 0) ? indices : null;
}
