import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  LaunchMode,
  LoadedConfigFile,
  ProgressListener,
  StateStore,
  StudyPlan,
  StudySummary,
} from '@llem/core';
import type { Settings } from '../settings.js';

/** `llem run --runner slurm` flags: the job shape (over `--slurm-config`). */
export interface SlurmFlags {
  slurmConfig?: string;
  partition?: string;
  account?: string;
  qos?: string;
  time?: string;
  gpusPerExperiment?: number;
  gpuOption?: string;
  cpusPerTask?: number;
  mem?: string;
  sbatch?: string[];
  array?: boolean | number;
}

export interface SlurmRunOptions {
  store: StateStore;
  settings: Settings;
  /** The loaded study file and its path: `plugins:` in it travel to the jobs, resolved. */
  file: LoadedConfigFile;
  path: string;
  flags: SlurmFlags;
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  launch?: LaunchMode;
}

/**
 * The argv that starts this very llem on a compute node: LLEM_SLURM_COMMAND (a JSON array) if
 * set, else this Node and this CLI's bin.js by absolute path (llem installed on a shared filesystem).
 */
export function llemCommandForJobs(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.LLEM_SLURM_COMMAND) {
    const parsed = JSON.parse(env.LLEM_SLURM_COMMAND) as unknown;
    if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((a) => typeof a === 'string'))
      return parsed;
    throw new Error('LLEM_SLURM_COMMAND must be a JSON array of strings, e.g. ["/opt/llem/bin/llem"].');
  }
  return [process.execPath, fileURLToPath(new URL('../bin.js', import.meta.url))];
}

/** Runs the plan on Slurm (see @llem/runner-slurm and docs/slurm.md). */
export async function runOnSlurm(plan: StudyPlan, options: SlurmRunOptions): Promise<StudySummary> {
  const { loadJobShape, runStudyOnSlurm } = await import('@llem/runner-slurm');
  const { flags, settings } = options;
  const shape = loadJobShape(flags.slurmConfig, {
    partition: flags.partition,
    account: flags.account,
    qos: flags.qos,
    time: flags.time,
    gpus_per_experiment: flags.gpusPerExperiment,
    gpu_option: flags.gpuOption as 'gres' | 'gpus' | undefined,
    cpus_per_task: flags.cpusPerTask,
    mem: flags.mem,
    sbatch: flags.sbatch,
    array: flags.array === undefined ? undefined : true,
    array_limit: typeof flags.array === 'number' ? flags.array : undefined,
  });
  const listed = Array.isArray(options.file.raw.plugins) ? options.file.raw.plugins : [];
  const base = dirname(resolve(options.path));
  const plugins = [
    ...settings.plugins,
    ...listed
      .filter((s): s is string => typeof s === 'string')
      .map((s) => (s.startsWith('.') ? resolve(base, s) : s)),
  ];
  return runStudyOnSlurm(plan, {
    store: options.store,
    storeLocation: { name: settings.store.value, dir: resolve(settings.stateDir.value) },
    resultsDir: resolve(settings.resultsDir.value),
    shape,
    llemCommand: llemCommandForJobs(),
    plugins,
    force: options.force,
    signal: options.signal,
    onProgress: options.onProgress,
    launch: options.launch,
  });
}
