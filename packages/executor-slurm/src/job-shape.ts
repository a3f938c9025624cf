import { ConfigError, configErrorFrom, describeZodIssues, loadConfigFile } from '@llem/core';
import { z } from 'zod';

/**
 * The shape of the Slurm job that runs one experiment-cycle: from a `--slurm-config` file, then
 * command-line flags on top. Every field maps to one sbatch option (see `sbatchOptions`).
 */
export const SlurmJobShapeSchema = z.strictObject({
  partition: z.string().min(1).optional().describe('sbatch --partition'),
  account: z.string().min(1).optional().describe('sbatch --account'),
  qos: z.string().min(1).optional().describe('sbatch --qos'),
  time: z
    .string()
    .regex(/^(\d+-)?\d+(:\d{1,2}){0,2}$/, 'a Slurm time limit: minutes, MM:SS, HH:MM:SS or D-HH:MM:SS')
    .optional()
    .describe('sbatch --time (Slurm rounds it up to whole minutes)'),
  gpus_per_experiment: z.number().int().min(0).default(0).describe('GPUs each job gets'),
  gpu_option: z
    .enum(['gres', 'gpus'])
    .default('gres')
    .describe('how GPUs are requested: --gres=gpu:N (gres) or --gpus=N (gpus)'),
  gpu_type: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .optional()
    .describe('GPU type, e.g. a100 (--gres=gpu:a100:N)'),
  cpus_per_task: z.number().int().min(1).optional().describe('sbatch --cpus-per-task'),
  mem: z
    .string()
    .regex(/^\d+[KMGT]?$/, 'a Slurm memory size such as 16G or 4000M')
    .optional()
    .describe('sbatch --mem'),
  sbatch: z
    .array(z.string().regex(/^--?[A-Za-z][^\r\n]*$/, 'one sbatch option per line, such as --constraint=a100'))
    .default([])
    .describe('extra #SBATCH lines (options only), e.g. --constraint=a100'),
  array: z.boolean().default(false).describe('submit one job array instead of one job per experiment-cycle'),
  array_limit: z.number().int().min(1).optional().describe('array: at most this many tasks at once (%k)'),
  poll_seconds: z.number().positive().default(5).describe('how often squeue is asked'),
});
export type SlurmJobShape = z.infer<typeof SlurmJobShapeSchema>;
export type SlurmJobShapeInput = z.input<typeof SlurmJobShapeSchema>;

/** Validates a job shape; `where` names the file or flags in the error. */
export function parseJobShape(input: unknown, where = 'slurm options'): SlurmJobShape {
  const parsed = SlurmJobShapeSchema.safeParse(input ?? {});
  if (!parsed.success) throw configErrorFrom(describeZodIssues(parsed.error, SlurmJobShapeSchema), where);
  return parsed.data;
}

/** A `--slurm-config` file (YAML or JSON), with flag values over it. */
export function loadJobShape(file: string | undefined, flags: SlurmJobShapeInput = {}): SlurmJobShape {
  const fromFile = file ? loadConfigFile(file).raw : {};
  const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  return parseJobShape({ ...fromFile, ...defined }, file ?? 'slurm options');
}

/** The sbatch options of a job shape (argv words). Extra `sbatch:` lines go in the script. */
export function sbatchOptions(shape: SlurmJobShape): string[] {
  const args: string[] = [];
  if (shape.partition) args.push(`--partition=${shape.partition}`);
  if (shape.account) args.push(`--account=${shape.account}`);
  if (shape.qos) args.push(`--qos=${shape.qos}`);
  if (shape.time) args.push(`--time=${shape.time}`);
  if (shape.cpus_per_task) args.push(`--cpus-per-task=${shape.cpus_per_task}`);
  if (shape.mem) args.push(`--mem=${shape.mem}`);
  if (shape.gpus_per_experiment > 0) {
    const typed = shape.gpu_type ? `${shape.gpu_type}:` : '';
    args.push(
      shape.gpu_option === 'gres'
        ? `--gres=gpu:${typed}${shape.gpus_per_experiment}`
        : `--gpus=${typed}${shape.gpus_per_experiment}`,
    );
  }
  return args;
}

/**
 * The batch script every job runs: the `#SBATCH` lines, then `exec "$@"`. The command comes as
 * sbatch's trailing arguments, so it is an argv array end to end and never parsed by a shell.
 */
export function batchScript(shape: SlurmJobShape): string {
  const lines = ['#!/bin/sh', '# Written by llem (@llem/executor-slurm). The command is in "$@".'];
  for (const option of shape.sbatch) {
    if (/[\r\n]/.test(option))
      throw new ConfigError(`slurm sbatch line must be one line: ${JSON.stringify(option)}`);
    lines.push(`#SBATCH ${option}`);
  }
  lines.push('exec "$@"', '');
  return lines.join('\n');
}
