import type { Clock } from '../clock.js';
import type { RawConfig } from '../config/load.js';
import type { Logger } from '../di/logger.js';
import type { BackendCatalog, LaunchMode } from '../plugins/backend.js';
import type { EnergyMeter, EnergyMeterFactory } from '../plugins/energy.js';
import type { StudyExecutor } from '../plugins/executor.js';
import type { Runner } from '../plugins/runner.js';
import type { StateStore } from '../state/store.js';
import type { RunReport } from './experiment-orchestrator.js';
import { createLlem } from './llem.js';
import type { ProgressListener } from './progress.js';
import { expandStudy, planExperiment, type StudyPlan } from './study-plan.js';
import type { StudySummary } from './study-summary.js';

/**
 * The library API for a whole run in one call: `runExperiment` and `runStudy` with the parts
 * given as instances. Both go through `createLlem` (the one composition root); use createLlem
 * directly to pick parts by name, keep a store open across runs, or choose an executor.
 */

/** The parts a run is made of, as instances. */
export interface OrchestrationParts {
  store: StateStore;
  runner: Runner;
  backends: BackendCatalog;
  /**
   * The energy meters: a factory (a meter per experiment), one meter for every experiment, or
   * omitted/null when energy is not measured (results then carry `energy: null` and a warning).
   */
  meter?: EnergyMeter | EnergyMeterFactory | null;
  clock?: Clock;
  logger?: Logger;
}

export interface RunCommonOptions extends OrchestrationParts {
  resultsDir: string;
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  launch?: LaunchMode;
  /** The config file, for messages and for a study's relative `base:`. */
  source?: string;
}

export interface RunStudyOptions extends RunCommonOptions {
  readBaseFile?: (path: string) => RawConfig;
  writeTable?: boolean;
  /** Most experiment-cycles a raw study may expand to (expandStudy's maxRuns). */
  maxRuns?: number;
  /** The executor (default: the local one). */
  executor?: StudyExecutor;
}

function llemFor(options: RunCommonOptions) {
  return createLlem({
    store: options.store,
    resultsDir: options.resultsDir,
    runner: options.runner,
    backends: options.backends,
    meters: options.meter ?? null,
    clock: options.clock,
    logger: options.logger,
  });
}

/**
 * Measures one experiment. `config` may be raw (parsed YAML) or already resolved. A completed
 * measurement of the same config (same hash, here or in a study) is reused unless `force`.
 * Returns the report (status done / reused / failed / busy); throws InterruptedError on a signal
 * (exit 130) and ConfigError for a bad config (exit 2).
 */
export async function runExperiment(config: unknown, options: RunCommonOptions): Promise<RunReport> {
  const plan = planExperiment(config, { backends: options.backends, source: options.source });
  const run = plan.runs[0]!;
  const experiment = plan.experiments[0]!;
  const llem = await llemFor(options);
  return llem.runExperiment({
    config: experiment.config,
    configHash: run.configHash,
    experimentId: run.experimentId,
    studyId: null,
    cycle: null,
    outputDir: options.resultsDir,
    resultDirName: run.resultDirName,
    force: options.force,
    reuseByHash: true,
    signal: options.signal,
    onProgress: options.onProgress,
    launch: options.launch,
  });
}

/**
 * Runs a study (a StudyPlan, or a raw study/experiment document to expand). Never throws for a
 * failed run; the summary has per-run statuses and `interrupted` (exit 130 when true).
 */
export async function runStudy(study: StudyPlan | unknown, options: RunStudyOptions): Promise<StudySummary> {
  const plan = isStudyPlan(study)
    ? study
    : expandStudy(study, {
        source: options.source,
        backends: options.backends,
        readBaseFile: options.readBaseFile,
        maxRuns: options.maxRuns,
      });
  const llem = await llemFor(options);
  return llem.runStudy(plan, {
    executor: options.executor,
    force: options.force,
    signal: options.signal,
    onProgress: options.onProgress,
    launch: options.launch,
    writeTable: options.writeTable,
  });
}

export function isStudyPlan(value: unknown): value is StudyPlan {
  return (
    value !== null &&
    typeof value === 'object' &&
    ((value as StudyPlan).kind === 'study' || (value as StudyPlan).kind === 'experiment') &&
    Array.isArray((value as StudyPlan).runs) &&
    Array.isArray((value as StudyPlan).experiments)
  );
}
