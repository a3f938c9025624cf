import { resolve } from 'node:path';
import {
  ConfigError,
  type DoctorCheck,
  type ExecHost,
  type ExecuteOptions,
  type ExecutorContext,
  type ExperimentState,
  isInterruptedError,
  type StudyExecutor,
  type StudyPlan,
  type StudySummary,
} from '@llem/core';
import { checkSlurm } from './doctor.js';
import { execIndex, readExecFile, slurmGpuIndices } from './exec-file.js';
import { execExitCode, executeFromFile, jobContextLine } from './exec-job.js';
import type { SlurmJobShape } from './job-shape.js';
import { slurmJobStates } from './job-status.js';
import { runStudyOnSlurm } from './run-study.js';
import type { SlurmCommands } from './slurm-commands.js';

/**
 * The `slurm` executor: every run of a study that is not done becomes a Slurm job running
 * `llem exec <file> --index i` on its node (see docs/slurm.md). `exec` is that command's side:
 * it measures one run there, with that node's meters and the GPUs of the job's allocation.
 */
export class SlurmExecutor implements StudyExecutor {
  readonly name = 'slurm';

  constructor(
    private readonly shape: SlurmJobShape,
    private readonly commands?: SlurmCommands,
  ) {}

  run(plan: StudyPlan, context: ExecutorContext, options: ExecuteOptions = {}): Promise<StudySummary> {
    if (!context.storeLocation)
      throw new ConfigError('The slurm executor needs a state store that jobs on other nodes can open.', {
        fix: 'Use --store fs with --state-dir on a filesystem every node mounts.',
      });
    if (context.llemCommand.length === 0)
      throw new ConfigError('The slurm executor needs the command that starts llem on a compute node.', {
        fix: 'Run it through the llem CLI, or set LLEM_SLURM_COMMAND to a JSON array, e.g. ["/opt/llem/bin/llem"].',
      });
    return runStudyOnSlurm(plan, {
      store: context.store,
      storeLocation: { name: context.storeLocation.name, dir: resolve(context.storeLocation.dir) },
      resultsDir: resolve(context.resultsDir),
      shape: this.shape,
      llemCommand: context.llemCommand,
      plugins: context.plugins,
      force: options.force,
      signal: options.signal,
      onProgress: options.onProgress,
      launch: options.launch,
      writeTable: options.writeTable,
      commands: this.commands,
      clock: context.clock,
    });
  }

  jobStates(states: readonly ExperimentState[]): Promise<Map<string, string>> {
    return slurmJobStates(states, this.commands);
  }

  async doctor(): Promise<DoctorCheck[]> {
    return (await checkSlurm()).map((check) => ({
      name: check.name,
      status: check.ok ? 'ok' : 'warn',
      detail: check.detail,
      ...(check.ok ? {} : { fix: 'Only `llem run --executor slurm` needs Slurm; see docs/slurm.md.' }),
    }));
  }

  async exec(path: string, host: ExecHost): Promise<number> {
    const file = await readExecFile(path);
    const run = file.runs[execIndex(file, host.index)]!;
    host.line(jobContextLine(file, host.index));
    const llem = await host.compose({
      store: file.store,
      resultsDir: file.outputDir,
      plugins: file.plugins,
      gpuIndices: (run.config.gpus as number[] | null | undefined) ?? slurmGpuIndices(),
    });
    try {
      const report = await executeFromFile(file, llem, {
        index: host.index,
        signal: host.signal,
        onProgress: (event) => {
          if (event.type === 'step')
            host.line(`llem exec: ${event.step}${event.detail ? ` ${event.detail}` : ''}`);
          else if (event.type === 'log') host.line(event.line);
        },
      });
      host.line(
        `llem exec: ${report.experimentId} ${report.status}${report.error ? `: ${report.error}` : ''}`,
      );
      return execExitCode(report);
    } catch (error) {
      if (!isInterruptedError(error)) throw error;
      host.line('llem exec: interrupted');
      return 130;
    } finally {
      await llem.close();
    }
  }
}
