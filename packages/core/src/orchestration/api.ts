import 'reflect-metadata';
import type { Clock } from '../clock.js';
import type { RawConfig } from '../config/load.js';
import { createContainer, type Logger } from '../di/container.js';
import type { BackendCatalog, LaunchMode } from '../plugins/backend.js';
import type { EnergyMeter } from '../plugins/energy.js';
import type { Runner } from '../plugins/runner.js';
import type { StateStore } from '../state/store.js';
import { ExperimentOrchestrator, type RunReport } from './experiment-orchestrator.js';
import type { ProgressListener } from './progress.js';
import { expandStudy, planExperiment, type StudyPlan } from './study-plan.js';
import { StudyRunner } from './study-runner.js';
import type { StudySummary } from './study-summary.js';

/** The parts a run is made of; the CLI (the composition root) picks them. */
export interface OrchestrationParts {
  store: StateStore;
  runner: Runner;
  backends: BackendCatalog;
  /** Omit (or null) when energy is not measured: results then carry `energy: null` and a warning. */
  meter?: EnergyMeter | null;
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
}

/** Both orchestration services wired from the given parts (a tsyringe child container). */
export function createOrchestration(parts: OrchestrationParts): {
  orchestrator: ExperimentOrchestrator;
  studyRunner: StudyRunner;
} {
  const container = createContainer({
    stateStore: parts.store,
    runner: parts.runner,
    backends: parts.backends,
    energyMeter: parts.meter ?? undefined,
    clock: parts.clock,
    logger: parts.logger,
  });
  return {
    orchestrator: container.resolve(ExperimentOrchestrator),
    studyRunner: container.resolve(StudyRunner),
  };
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
  const { orchestrator } = createOrchestration(options);
  return orchestrator.run({
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
  const { studyRunner } = createOrchestration(options);
  return studyRunner.run(plan, {
    resultsDir: options.resultsDir,
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
