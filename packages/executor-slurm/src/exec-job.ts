import { hostname } from 'node:os';
import {
  ConfigError,
  type Llem,
  type ProgressListener,
  type RunReport,
  resolveExperimentConfig,
} from '@llem/core';
import { type ExecFile, execIndex, slurmJobFromEnv } from './exec-file.js';

export interface ExecFileOptions {
  /** Run `runs[index]`; default: the array task id. */
  index?: number;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  env?: NodeJS.ProcessEnv;
}

/**
 * `llem exec` on a compute node: measures one experiment-cycle of an exec file exactly as a local
 * run would (same orchestrator, local runner, energy meter), taking over the state the submitter
 * claimed for this very Slurm job. Returns the orchestrator's report; throws InterruptedError
 * when stopped (scancel sends SIGTERM).
 */
export async function executeFromFile(
  file: ExecFile,
  llem: Llem,
  options: ExecFileOptions = {},
): Promise<RunReport> {
  const run = file.runs[execIndex(file, options.index, options.env)]!;
  // Re-validate with this node's backends: a different llem or plugin version must not measure.
  const backends = await llem.loadBackends([String(run.config.backend)]);
  const { config, configHash } = resolveExperimentConfig(run.config, { backends });
  if (configHash !== run.configHash) {
    throw new ConfigError(
      `llem exec: ${run.experimentId}: the config hashes to ${configHash} here, not ${run.configHash} as on the submit host.`,
      { fix: 'Install the same llem and backend versions on the submit host and the compute nodes.' },
    );
  }
  return llem.runExperiment({
    config,
    configHash,
    experimentId: run.experimentId,
    studyId: file.studyId,
    cycle: run.cycle,
    outputDir: file.outputDir,
    resultDirName: run.resultDirName,
    reuseByHash: false,
    signal: options.signal,
    onProgress: options.onProgress,
    launch: file.launch ?? undefined,
    schedulerJob: slurmJobFromEnv(options.env),
  });
}

/**
 * The first line `llem exec` prints into the job's output file: which run, which job, which
 * GPUs Slurm gave it (CUDA_VISIBLE_DEVICES), on which node.
 */
export function jobContextLine(
  file: ExecFile,
  index: number | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const run = file.runs[execIndex(file, index, env)]!;
  const job = slurmJobFromEnv(env);
  return [
    `llem exec: ${run.experimentId}`,
    `job=${job?.jobId ?? '(not in a Slurm job)'}`,
    `node=${env.SLURMD_NODENAME ?? hostname()}`,
    `CUDA_VISIBLE_DEVICES=${env.CUDA_VISIBLE_DEVICES ?? '(unset)'}`,
  ].join(' ');
}

/** Exit code of `llem exec` for a report: 0 done/reused, 1 failed or busy. */
export function execExitCode(report: RunReport): number {
  return report.status === 'done' || report.status === 'reused' ? 0 : 1;
}
