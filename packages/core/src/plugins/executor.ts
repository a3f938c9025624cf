import type { Clock } from '../clock.js';
import type { Logger } from '../di/logger.js';
import type { RunReport, RunRequest } from '../orchestration/experiment-orchestrator.js';
import type { Llem } from '../orchestration/llem.js';
import type { ProgressListener } from '../orchestration/progress.js';
import type { StudyPlan } from '../orchestration/study-plan.js';
import type { StudySummary } from '../orchestration/study-summary.js';
import type { ExperimentState } from '../state/experiment-state.js';
import type { StateStore } from '../state/store.js';
import type { DoctorCheck, LaunchMode } from './backend.js';
import type { EnergyMeterFactory } from './energy.js';

/**
 * Study executors: how a study's experiment-cycles get run. `local` (built into
 * @llem/core/orchestration) measures them one after another in this process; `slurm`
 * (@llem/executor-slurm) submits each as a Slurm job that runs `llem exec` on its node. Third
 * parties add more (a Kubernetes job, a remote host): a plugin of kind `executor`, resolved by name
 * like backends and stores, that passes `describeExecutorContract` from `@llem/core/testing`.
 *
 * The contract (checked by `describeExecutorContract`): every planned run that is not done (every
 * run, with `force`) is measured exactly once, by whatever process the executor starts, through
 * the store's claims (`claimRun`), and ends `done` in the summary and the store; a done run is
 * reused, not measured; a run another live process holds is `busy`; progress events name each
 * run it measures as it starts (`run-start`), every run as it ends (one final step), and hand
 * each result over (`result`); a signal stops the study (runs in flight end `interrupted`, the
 * summary says `interrupted`, an already-aborted signal measures nothing); a failed run never
 * throws, it is a summary entry. The summary ends with the study tables and study.json (see
 * finishStudy).
 */

/** Where the state store is, so other processes (a Slurm job) can open the same one. */
export interface StoreLocation {
  name: string;
  dir: string;
}

/** Runs one experiment-cycle in this process (the ExperimentOrchestrator). */
export interface ExperimentRunner {
  run(request: RunRequest): Promise<RunReport>;
}

/** What an executor works with, from the composition root (createLlem). */
export interface ExecutorContext {
  store: StateStore;
  storeLocation: StoreLocation | null;
  /** Results root: a study writes into `<resultsDir>/<study-id>/`. */
  resultsDir: string;
  /** Measures one experiment-cycle here. */
  experiments: ExperimentRunner;
  /** The meters of this process (cool-down temperatures); null when energy is not measured here. */
  meters: EnergyMeterFactory | null;
  /** Plugin modules (absolute paths or package names) another process must load to run the plan. */
  plugins: readonly string[];
  /** The argv that starts this llem in another process or on another host (`exec <file>` follows). */
  llemCommand: readonly string[];
  clock: Clock;
  logger: Logger;
}

export interface ExecuteOptions {
  /** Remeasure runs that are already done. */
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Overrides each experiment's launch mode (local, docker). */
  launch?: LaunchMode;
  /** Write study.csv / aggregate.csv (+ parquet) at the end (default true for studies). */
  writeTable?: boolean;
}

export interface StudyExecutor {
  readonly name: string;
  run(plan: StudyPlan, context: ExecutorContext, options?: ExecuteOptions): Promise<StudySummary>;
  /**
   * Executors that run work in other processes (a Slurm job) write a work file there and start
   * `llem exec <file>`; that command reads the file's `executor` field, resolves the same executor
   * by name and calls this. It measures the file's run(s) in this process through `host.compose`
   * and returns the exit code (0 done or reused, 1 failed, 130 interrupted).
   */
  exec?(file: string, host: ExecHost): Promise<number>;
  /** What a scheduler says of the jobs recorded on these states (`llem status`), by experiment id. */
  jobStates?(states: readonly ExperimentState[]): Promise<Map<string, string>>;
  /** Can it run here (`llem doctor`)? */
  doctor?(): Promise<DoctorCheck[]>;
}

/** What `llem exec` gives an executor on the host where a run is measured. */
export interface ExecHost {
  /** Which run of the file (`--index`), when the command line says. */
  index?: number;
  /** Aborted by SIGINT/SIGTERM/SIGHUP (scancel sends SIGTERM). */
  signal: AbortSignal;
  /** A line for the job's output. */
  line(text: string): void;
  /**
   * The composition root on this host, for the store the file names and the plugins it lists;
   * `gpuIndices`: the GPUs of this host's allocation, for experiments that name none.
   */
  compose(options: {
    store: StoreLocation;
    resultsDir: string;
    plugins: readonly string[];
    gpuIndices?: readonly number[] | null;
  }): Promise<Llem>;
}

/** The header every work file for `llem exec` starts with: which executor reads it. */
export interface ExecFileHeader {
  executor: string;
}
