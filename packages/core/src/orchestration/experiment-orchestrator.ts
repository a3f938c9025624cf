import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { cp, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { inject, injectable } from 'tsyringe';
import { type Clock, isoUtc } from '../clock.js';
import type { ExperimentConfig } from '../config/experiment.js';
import type { Logger } from '../di/logger.js';
import { TOKENS } from '../di/tokens.js';
import { InterruptedError, messageOf } from '../errors.js';
import type { BackendCatalog, BackendPlugin, LaunchMode } from '../plugins/backend.js';
import type { EnergyMeterFactory } from '../plugins/energy.js';
import type { ExperimentRunner } from '../plugins/executor.js';
import type { Runner } from '../plugins/runner.js';
import type { ExperimentResult } from '../results/experiment-result.js';
import { RESULT_FILE_NAME, readResultFile } from '../results/read-results.js';
import {
  type ExperimentState,
  type FailureKind,
  markFailed,
  type SchedulerJob,
} from '../state/experiment-state.js';
import type { StateStore } from '../state/store.js';
import { Attempt } from './attempt.js';
import { claimRun } from './claim.js';
import { WORK_DIR_NAME } from './naming.js';
import { emitProgress, type ProgressListener, type RunStep } from './progress.js';

export { windowOf } from './attempt.js';

/** One experiment-cycle to run. The config is resolved (defaults applied) and hashed. */
export interface RunRequest {
  config: ExperimentConfig;
  configHash: string;
  experimentId: string;
  studyId?: string | null;
  cycle?: number | null;
  /** Directory the result directory goes into (the study directory, or the results directory). */
  outputDir: string;
  /** Result directory name, e.g. `gpt2_pytorch_1a2b3c4d_c2`. */
  resultDirName: string;
  /** Remeasure even if a completed state exists. */
  force?: boolean;
  /** With force: remeasure only states created before this ISO UTC instant (default: this call's start). */
  forceSince?: string;
  /** Lone experiments: a completed measurement of the same config under another id is reused. */
  reuseByHash?: boolean;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Pause the study runner actually made before this run (recorded in timings.gap_before_s). */
  gapBeforeS?: number | null;
  /** Overrides the launch mode chosen from `config.runner` and the backend. */
  launch?: LaunchMode;
  /** The scheduler job this process runs in; it takes over the state submitted as that job. */
  schedulerJob?: SchedulerJob | null;
}

export type RunStatus = 'done' | 'reused' | 'failed' | 'busy';

export interface RunReport {
  experimentId: string;
  configHash: string;
  cycle: number | null;
  status: RunStatus;
  attempt: number | null;
  /** Directory holding result.json (null when the run produced none). */
  resultDir: string | null;
  resultPath: string | null;
  result: ExperimentResult | null;
  /** Why the run failed or was skipped as busy. */
  error: string | null;
  failureKind: FailureKind | null;
  /** The workload's log of a failed attempt, kept for diagnosis. */
  logPath: string | null;
  /** Previous state this attempt replaced (a retry), or that was reused. */
  previous: ExperimentState | null;
  /** Reused because an earlier attempt had committed its result before its llem died. */
  adopted: boolean;
  /**
   * Reused from another results directory: the result directory it was copied from (into this
   * run's own result directory, so every results directory holds all of its study's results).
   */
  copiedFrom: string | null;
  durationS: number;
}

/**
 * Runs one experiment-cycle end to end (docs/architecture.md "One experiment's path"): claims it
 * through the store, then measures it with an `Attempt` (prepare, baseline, launch with sampling,
 * collect, integrate energy over the workload's window, commit the result, mark done). The
 * experiment's meter comes from the EnergyMeterFactory: each experiment is measured as its own
 * `energy` section and GPU set ask. Every failure is recorded on the state and returned as a
 * `failed` report; an interrupt is recorded as `interrupted` and rethrown as InterruptedError.
 */
@injectable()
export class ExperimentOrchestrator implements ExperimentRunner {
  constructor(
    @inject(TOKENS.StateStore) private readonly store: StateStore,
    @inject(TOKENS.Runner) private readonly runner: Runner,
    @inject(TOKENS.BackendCatalog) private readonly backends: BackendCatalog,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.EnergyMeterFactory, { isOptional: true })
    private readonly meters: EnergyMeterFactory | null = null,
  ) {}

  async run(request: RunRequest): Promise<RunReport> {
    const t0 = this.clock.monotonicNs();
    const { experimentId, configHash } = request;
    const cycle = request.cycle ?? null;
    const step = (name: RunStep, detail?: string) =>
      emitProgress(request.onProgress, { type: 'step', experimentId, step: name, detail });
    const report = (fields: Partial<RunReport> & Pick<RunReport, 'status'>): RunReport => ({
      experimentId,
      configHash,
      cycle,
      attempt: null,
      resultDir: null,
      resultPath: null,
      result: null,
      error: null,
      failureKind: null,
      logPath: null,
      previous: null,
      adopted: false,
      copiedFrom: null,
      durationS: Number(this.clock.monotonicNs() - t0) / 1e9,
      ...fields,
    });
    const scratch = join(request.outputDir, WORK_DIR_NAME, experimentId);

    if (request.signal?.aborted) throw new InterruptedError('interrupted');
    step('claiming');
    const claim = await claimRun(
      this.store,
      {
        experimentId,
        configHash,
        studyId: request.studyId ?? null,
        cycle,
        force: request.force ?? false,
        forceSince: request.forceSince ?? isoUtc(this.clock.now()),
        reuseByHash: request.reuseByHash ?? false,
        schedulerJob: request.schedulerJob ?? null,
        resultPath: resolve(request.outputDir, request.resultDirName, RESULT_FILE_NAME),
      },
      this.clock,
    );
    if (claim.kind === 'busy') {
      step('busy', claim.reason);
      return report({ status: 'busy', error: claim.reason, attempt: claim.state?.attempt ?? null });
    }
    if (claim.kind === 'reused') {
      // A scratch folder can outlive a kill right after `done` was saved; the result does not need it.
      if (claim.state.experimentId === experimentId) await rm(scratch, { recursive: true, force: true });
      const found = await this.placeResult(request, await this.findResult(request, claim.state));
      if (found.result)
        emitProgress(request.onProgress, { type: 'result', experimentId, result: found.result });
      step('reused', found.resultPath ?? undefined);
      return report({ status: 'reused', attempt: claim.state.attempt, previous: claim.state, ...found });
    }
    if (claim.kind === 'adopted') {
      this.logger.warn(
        `${experimentId}: attempt ${claim.state.attempt} committed its result before llem stopped; adopted it (not measured again).`,
      );
      // Its scratch folder outlived the crash; the result is complete without it.
      await rm(scratch, { recursive: true, force: true });
      emitProgress(request.onProgress, { type: 'result', experimentId, result: claim.result });
      step('reused', claim.path);
      return report({
        status: 'reused',
        adopted: true,
        attempt: claim.state.attempt,
        previous: claim.previous,
        resultDir: dirname(claim.path),
        resultPath: claim.path,
        result: claim.result,
      });
    }
    if (claim.staleReason) this.logger.warn(`${experimentId}: ${claim.staleReason} Retrying.`);

    const plugin = this.backends.get(request.config.backend);
    if (!plugin) {
      const error = `backend '${request.config.backend}' is not installed (installed: ${this.backends.names().join(', ') || 'none'})`;
      await this.store.save(markFailed(claim.state, error, 'error', this.clock)).catch(() => undefined);
      step('failed', error);
      return report({
        status: 'failed',
        error,
        failureKind: 'error',
        attempt: claim.state.attempt,
        previous: claim.previous,
      });
    }
    const attempt = new Attempt(
      {
        config: request.config,
        configHash,
        experimentId,
        studyId: request.studyId ?? null,
        cycle,
        outputDir: request.outputDir,
        resultDirName: request.resultDirName,
        gapBeforeS: request.gapBeforeS ?? null,
        signal: request.signal,
        onProgress: request.onProgress,
      },
      claim.state,
      {
        store: this.store,
        runner: this.runner,
        plugin,
        launch: launchModeFor(request.config, plugin, request.launch),
        meter: this.meters?.meterFor(request.config) ?? null,
        clock: this.clock,
        logger: this.logger,
      },
    );
    const outcome = await attempt.measure();
    return report({ ...outcome, attempt: attempt.attempt, previous: claim.previous });
  }

  /**
   * A reused result found in another results directory is copied into this run's result
   * directory (a new `--results-dir` gets every result of its study, with its tables and report).
   * The copy is built in the scratch folder and moved into place by one rename; an existing
   * directory there is never overwritten. Copying is best effort: the run is reused either way.
   */
  private async placeResult(
    request: RunRequest,
    found: Pick<RunReport, 'resultDir' | 'resultPath' | 'result'>,
  ): Promise<Pick<RunReport, 'resultDir' | 'resultPath' | 'result' | 'copiedFrom'>> {
    const target = resolve(request.outputDir, request.resultDirName);
    if (!found.result || !found.resultDir || resolve(found.resultDir) === target)
      return { ...found, copiedFrom: null };
    if (existsSync(target)) return { ...found, copiedFrom: null };
    const scratch = join(request.outputDir, WORK_DIR_NAME, `${request.experimentId}.reused`);
    try {
      await rm(scratch, { recursive: true, force: true });
      await mkdir(dirname(scratch), { recursive: true });
      await cp(found.resultDir, scratch, { recursive: true, errorOnExist: true, force: false });
      await rename(scratch, target);
    } catch (error) {
      await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
      this.logger.warn(
        `${request.experimentId}: could not copy its reused result from ${found.resultDir} to ${target}: ${messageOf(error)}`,
      );
      return { ...found, copiedFrom: null };
    }
    return {
      resultDir: target,
      resultPath: join(target, RESULT_FILE_NAME),
      result: found.result,
      copiedFrom: found.resultDir,
    };
  }

  /** Where the result of a reused state lives, if it is on disk (where it was committed, or under this output directory). */
  private async findResult(
    request: RunRequest,
    state: ExperimentState,
  ): Promise<Pick<RunReport, 'resultDir' | 'resultPath' | 'result'>> {
    const candidates = [
      ...(state.resultPath ? [state.resultPath] : []),
      state.experimentId === request.experimentId
        ? join(request.outputDir, request.resultDirName, RESULT_FILE_NAME)
        : state.studyId !== null
          ? join(
              request.outputDir,
              state.studyId,
              `${request.resultDirName}_c${state.cycle}`,
              RESULT_FILE_NAME,
            )
          : join(request.outputDir, request.resultDirName, RESULT_FILE_NAME),
    ];
    for (const path of candidates) {
      const read = await readResultFile(path);
      if (read && 'result' in read && read.result.config_hash === state.configHash)
        return { resultDir: dirname(path), resultPath: path, result: read.result };
      // Not there (another results directory): reuse is still right, the state says it is done.
    }
    return { resultDir: null, resultPath: null, result: null };
  }
}

/**
 * The launch mode of one experiment: the study's override (`--launch`, or `auto` resolved once for
 * the study), else the experiment's own `launch:` when it is local or docker, else the backend's
 * first supported mode.
 */
export function launchModeFor(
  config: Pick<ExperimentConfig, 'launch'>,
  plugin: Pick<BackendPlugin, 'supportedLaunchModes'>,
  override?: LaunchMode,
): LaunchMode {
  if (override) return override;
  if (config.launch === 'docker' || config.launch === 'local') return config.launch;
  return plugin.supportedLaunchModes?.[0] ?? 'local';
}
