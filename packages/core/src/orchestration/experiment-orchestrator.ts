import 'reflect-metadata';
import { copyFile, mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { inject, injectable } from 'tsyringe';
import { type Clock, isoUtc } from '../clock.js';
import type { ExperimentConfig } from '../config/experiment.js';
import type { Logger } from '../di/container.js';
import { TOKENS } from '../di/tokens.js';
import type { BaselineInfo, EnergyMeasurement } from '../energy/measurement.js';
import {
  BackendError,
  EnergyError,
  InterruptedError,
  isInterruptedError,
  isLlemError,
  LlemError,
} from '../errors.js';
import { failpoint } from '../fault/failpoint.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { pathExists } from '../fs/path-exists.js';
import type {
  BackendCatalog,
  BackendContext,
  BackendPlugin,
  LaunchMode,
  LaunchPlan,
} from '../plugins/backend.js';
import type { EnergyMeter, MeasurementWindowNs, SamplerTrace } from '../plugins/energy.js';
import type { Runner, RunOutcome, RunSpec } from '../plugins/runner.js';
import type { ProtocolEvent } from '../protocol/events.js';
import type { ExperimentResult } from '../results/experiment-result.js';
import { RESULT_FILE_NAME, readResultFile } from '../results/read-results.js';
import { writeTimeseries } from '../results/timeseries.js';
import { type WorkloadResult, WorkloadResultSchema } from '../results/workload-result.js';
import { resolveInside } from '../security/ids.js';
import {
  type ExperimentState,
  type FailureKind,
  markFailed,
  type SchedulerJob,
  transition,
  withProcess,
} from '../state/experiment-state.js';
import type { StateStore } from '../state/store.js';
import { setResultDirAside } from './adopt.js';
import { claimRun } from './claim.js';
import { WORK_DIR_NAME } from './naming.js';
import { emitProgress, type ProgressListener, type RunStep } from './progress.js';
import { assembleResult } from './result-assembly.js';

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
  durationS: number;
}

const STDERR_TAIL_LINES = 50;
/** How often the live view is told the energy so far while the workload runs. */
const LIVE_ENERGY_INTERVAL_MS = 1000;
const TIMESERIES_MARGIN_S = 5;

/** A timed-out workload: failed with kind `timeout`. */
class TimeoutFailure extends LlemError {}

/**
 * Runs one experiment-cycle end to end (DESIGN.md "One experiment, end to end"): claim through
 * the store, prepare, baseline, launch with sampling, collect, integrate energy over the
 * workload's window, write result.json atomically, mark done. Every failure is recorded on the
 * state (markFailed) and returned as a `failed` report; an interrupt is recorded as
 * `interrupted` and rethrown as InterruptedError.
 */
@injectable()
export class ExperimentOrchestrator {
  constructor(
    @inject(TOKENS.StateStore) private readonly store: StateStore,
    @inject(TOKENS.Runner) private readonly runner: Runner,
    @inject(TOKENS.BackendCatalog) private readonly backends: BackendCatalog,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.EnergyMeter, { isOptional: true }) private readonly meter: EnergyMeter | null = null,
  ) {}

  async run(request: RunRequest): Promise<RunReport> {
    const t0 = this.clock.monotonicNs();
    const elapsedS = () => Number(this.clock.monotonicNs() - t0) / 1e9;
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
      durationS: elapsedS(),
      ...fields,
    });

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
      if (claim.state.experimentId === experimentId)
        await rm(join(request.outputDir, WORK_DIR_NAME, experimentId), { recursive: true, force: true });
      const found = await this.findResult(request, claim.state);
      step('reused', found.resultPath ?? undefined);
      return report({ status: 'reused', attempt: claim.state.attempt, previous: claim.state, ...found });
    }
    if (claim.kind === 'adopted') {
      this.logger.warn(
        `${experimentId}: attempt ${claim.state.attempt} committed its result before llem stopped; adopted it (not measured again).`,
      );
      // Its scratch folder outlived the crash; the result is complete without it.
      await rm(join(request.outputDir, WORK_DIR_NAME, experimentId), { recursive: true, force: true });
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
    return this.measure(request, claim.state, claim.previous, report, step);
  }

  private async measure(
    request: RunRequest,
    claimed: ExperimentState,
    previous: ExperimentState | null,
    report: (fields: Partial<RunReport> & Pick<RunReport, 'status'>) => RunReport,
    step: (name: RunStep, detail?: string) => void,
  ): Promise<RunReport> {
    const { config, configHash, experimentId, signal } = request;
    const cycle = request.cycle ?? null;
    let state = claimed;
    const save = async (next: ExperimentState) => {
      state = await this.store.save(next);
      return state;
    };
    const startedUtc = isoUtc(this.clock.now());
    const t0 = this.clock.monotonicNs();
    const workDir = join(request.outputDir, WORK_DIR_NAME, experimentId, `attempt-${state.attempt}`);
    const logFile = join(workDir, 'workload.log');
    const resultDir = join(request.outputDir, request.resultDirName);
    const warnings: string[] = [];
    const events: ProtocolEvent[] = [];
    const stderrTail: string[] = [];
    let plan: LaunchPlan | undefined;
    let meterRunning = false;
    let measuringSaved: Promise<unknown> = Promise.resolve();
    let liveTimer: NodeJS.Timeout | undefined;

    try {
      const plugin = this.backendFor(config);
      await mkdir(workDir, { recursive: true, mode: 0o700 });
      const launch = request.launch ?? launchModeFor(config, plugin);
      const ctx: BackendContext = {
        config,
        configHash,
        experimentId,
        workDir,
        launch,
        signal,
        log: (m) => this.logger.debug(`${experimentId}: ${m}`),
      };

      step('preparing');
      plan = await plugin.prepare(ctx);
      for (const file of plan.files ?? []) {
        const target = resolveInside(workDir, file.path);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, file.content, { mode: file.mode ?? 0o600 });
      }

      const meter = config.energy.enabled ? this.meter : null;
      if (config.energy.enabled && !this.meter)
        warnings.push('energy not measured: no energy meter is available on this machine');
      let baseline: BaselineInfo | null = null;
      let baselineS: number | null = null;
      if (meter && config.baseline.enabled) {
        step('baseline');
        const tb = this.clock.monotonicNs();
        baseline = await meter.baseline({
          durationS: config.baseline.duration_seconds,
          ttlS: config.baseline.cache_ttl_seconds,
          signal,
        });
        baselineS = Number(this.clock.monotonicNs() - tb) / 1e9;
        if (!baseline) warnings.push('no idle baseline: energy is reported unadjusted');
      }
      if (signal?.aborted) throw new InterruptedError('interrupted');

      if (meter) {
        await meter.start();
        meterRunning = true;
      }
      step('launching', plan.description);
      const spec: RunSpec = {
        ...plan.spec,
        logFile: plan.spec.logFile ?? logFile,
        timeoutMs:
          plan.spec.timeoutMs ??
          (config.timeout_seconds === undefined ? undefined : config.timeout_seconds * 1000),
        label: plan.spec.label ?? experimentId,
      };
      const emitLiveEnergy = () => {
        const live = meterRunning ? meter?.liveEnergyJ?.() : null;
        if (live) emitProgress(request.onProgress, { type: 'energy', experimentId, ...live });
      };
      const outcome = await this.runner.run(spec, {
        signal,
        onSpawn: (pid) => {
          // Only a local workload's pid is in NVML's (the host's) namespace with its children;
          // a container's processes are not the docker client's descendants.
          if (launch === 'local') meter?.setWorkloadPids?.([pid]);
          if (meter?.liveEnergyJ && request.onProgress && !liveTimer) {
            liveTimer = setInterval(emitLiveEnergy, LIVE_ENERGY_INTERVAL_MS);
            liveTimer.unref();
          }
          // Recorded at once, so a crash during model load is found stale later.
          measuringSaved = measuringSaved
            .then(() => save(withProcess(transition(state, 'measuring', this.clock), pid, this.clock)))
            .then(() => step('measuring'));
        },
        onEvent: (event) => {
          events.push(event);
          if (event.event === 'window-end') failpoint('window-ended');
          emitProgress(request.onProgress, { type: 'workload', experimentId, event });
          if (event.event === 'progress') emitLiveEnergy();
        },
        onLine: (line, stream) => {
          if (stream === 'stderr') {
            stderrTail.push(line);
            if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
          }
          emitProgress(request.onProgress, { type: 'log', experimentId, line, stream });
        },
      });
      clearInterval(liveTimer);
      await measuringSaved;
      let traces: SamplerTrace[] = [];
      if (meter && meterRunning) {
        meterRunning = false;
        traces = await meter.stop();
      }
      if (outcome.kind === 'interrupted' || signal?.aborted) throw new InterruptedError('interrupted');
      if (outcome.kind === 'timed-out')
        throw new TimeoutFailure(
          `timed out after ${((spec.timeoutMs ?? outcome.durationMs) / 1000).toFixed(0)} s and was stopped`,
        );
      // A runner that never reported the spawn: the phase machine still needs measuring before done.
      if (state.phase === 'initialising')
        await save(withProcess(transition(state, 'measuring', this.clock), outcome.pid, this.clock));

      step('collecting');
      const workload = await this.collect(
        plugin,
        { ...ctx, outcome, events, stderrTail },
        outcome,
        events,
        stderrTail,
      );
      const window = windowOf(events, workload);
      let energy: EnergyMeasurement | null = null;
      if (meter) {
        energy = meter.integrate(traces, window, baseline);
        if (!energy.quality.ok && config.energy.quality_policy === 'fail') {
          const reasons = energy.quality.warnings
            .filter((w) => w.severity !== 'info')
            .map((w) => `${w.code}: ${w.message}`);
          throw new EnergyError(
            `energy quality checks failed (quality_policy: fail): ${reasons.join('; ') || 'quality not ok'}`,
            {
              fix: 'Fix the cause named above, or set energy.quality_policy: warn to keep such results with warnings.',
            },
          );
        }
      }

      failpoint('result-writing');
      step('writing');
      // The result directory is built in the attempt's scratch folder and moved into place by one
      // rename: a result directory is complete or absent, never half-written.
      const staging = join(workDir, 'result');
      const files: Record<string, string> = {};
      const result = await writingResult(resultDir, async () => {
        await rm(staging, { recursive: true, force: true });
        // Not recursive: the scratch folder exists, and Node's recursive mkdir says ENOENT for EROFS.
        await mkdir(staging);
        if (spec.logFile === logFile && (await pathExists(logFile))) {
          await copyFile(logFile, join(staging, 'workload.log'));
          files.log = 'workload.log';
        }
        if (traces.some((trace) => trace.devices.some((device) => device.readings.length > 0))) {
          try {
            // Readings around the window (baseline, model load) are trimmed to a few seconds either side.
            Object.assign(
              files,
              await writeTimeseries(staging, traces, window, { marginS: TIMESERIES_MARGIN_S }),
            );
          } catch (error) {
            if (isOutOfSpace(error)) throw error;
            warnings.push(`timeseries sidecar not written: ${messageOf(error)}`);
          }
        }
        const assembled = assembleResult({
          experimentId,
          configHash,
          studyId: request.studyId ?? null,
          cycle,
          attempt: state.attempt,
          config,
          backendName: plugin.name,
          backendVersion: plugin.version ?? null,
          launch,
          workload,
          energy,
          timings: {
            started_utc: startedUtc,
            finished_utc: isoUtc(this.clock.now()),
            wall_s: Number(this.clock.monotonicNs() - t0) / 1e9,
            baseline_s: baselineS,
            process_s: outcome.durationMs / 1000,
            gap_before_s: request.gapBeforeS ?? null,
          },
          warnings,
          files,
        });
        await writeFileAtomic(join(staging, RESULT_FILE_NAME), `${JSON.stringify(assembled, null, 2)}\n`);
        failpoint('result-staged');
        // Whatever sits where this result goes is not this attempt's: kept aside, never overwritten.
        const aside = await setResultDirAside(resultDir, `replaced-by-attempt-${state.attempt}`);
        if (aside) this.logger.warn(`${experimentId}: an earlier result directory was moved to ${aside}.`);
        await rename(staging, resultDir);
        await fsyncDir(dirname(resultDir));
        return assembled;
      });
      const resultPath = join(resultDir, RESULT_FILE_NAME);
      failpoint('result-committed');
      await save(transition(state, 'done', this.clock));
      failpoint('state-done');
      await rm(join(request.outputDir, WORK_DIR_NAME, experimentId), { recursive: true, force: true });
      step('done', resultPath);
      return report({ status: 'done', attempt: state.attempt, resultDir, resultPath, result, previous });
    } catch (error) {
      clearInterval(liveTimer);
      if (meterRunning) await this.meter?.stop().catch(() => undefined);
      await measuringSaved.catch(() => undefined);
      const interrupted = isInterruptedError(error) || signal?.aborted === true;
      const kind: FailureKind = interrupted
        ? 'interrupted'
        : error instanceof TimeoutFailure
          ? 'timeout'
          : 'error';
      const message = interrupted ? 'interrupted' : messageOf(error);
      try {
        await save(markFailed(state, message, kind, this.clock));
      } catch (saveError) {
        this.logger.warn(`${experimentId}: could not record the failure (${messageOf(saveError)})`);
      }
      step(interrupted ? 'interrupted' : 'failed', message);
      if (interrupted) throw isInterruptedError(error) ? error : new InterruptedError('interrupted');
      const logPath = (await pathExists(logFile)) ? logFile : null;
      return report({
        status: 'failed',
        attempt: state.attempt,
        error: message,
        failureKind: kind,
        logPath,
        previous,
      });
    } finally {
      // Backends put secrets files anywhere (often outside workDir): relative paths are taken from workDir.
      for (const path of plan?.cleanupPaths ?? []) {
        try {
          await rm(resolve(workDir, path), { force: true });
        } catch (error) {
          this.logger.warn(`${experimentId}: could not remove ${path} (${messageOf(error)})`);
        }
      }
    }
  }

  private backendFor(config: ExperimentConfig): BackendPlugin {
    const plugin = this.backends.get(config.backend);
    if (!plugin) {
      throw new BackendError(
        `backend '${config.backend}' is not installed (installed: ${this.backends.names().join(', ') || 'none'})`,
        {
          fix: `Install the @llem/backend-${config.backend} package or list it under plugins:.`,
        },
      );
    }
    return plugin;
  }

  /** Asks the backend for the workload result; a failed workload becomes one clear message. */
  private async collect(
    plugin: BackendPlugin,
    ctx: Parameters<BackendPlugin['collect']>[0],
    outcome: RunOutcome,
    events: readonly ProtocolEvent[],
    stderrTail: readonly string[],
  ): Promise<WorkloadResult> {
    const succeeded = outcome.kind === 'exited' && outcome.exitCode === 0;
    const errorEvent = [...events].reverse().find((event) => event.event === 'error');
    if (!succeeded && errorEvent?.event === 'error')
      throw new BackendError(`workload failed: ${errorEvent.message}`);
    let collected: WorkloadResult;
    try {
      collected = await plugin.collect(ctx);
    } catch (error) {
      if (succeeded) throw error;
      // The exit comes first; the backend's explanation (e.g. a translated Docker error) follows.
      throw new BackendError(
        `${exitMessage(outcome, stderrTail)}${isLlemError(error) ? `; ${error.message}` : ''}`,
      );
    }
    if (!succeeded) throw new BackendError(exitMessage(outcome, stderrTail));
    const parsed = WorkloadResultSchema.safeParse(collected);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new BackendError(
        `backend '${plugin.name}' returned an invalid workload result: ${first?.path.join('.') || '(root)'}: ${first?.message}`,
      );
    }
    return parsed.data;
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

function launchModeFor(config: ExperimentConfig, plugin: BackendPlugin): LaunchMode {
  if (config.runner === 'docker' || config.runner === 'local') return config.runner;
  return plugin.supportedLaunchModes?.[0] ?? 'local';
}

/** The measurement window: the workload's window-start/window-end events, else its reported window. */
export function windowOf(events: readonly ProtocolEvent[], workload: WorkloadResult): MeasurementWindowNs {
  const start = events.find((event) => event.event === 'window-start');
  const end = [...events].reverse().find((event) => event.event === 'window-end');
  if (start && end && BigInt(end.t_mono_ns) >= BigInt(start.t_mono_ns))
    return { startNs: BigInt(start.t_mono_ns), endNs: BigInt(end.t_mono_ns) };
  return { startNs: BigInt(workload.window.start_mono_ns), endNs: BigInt(workload.window.end_mono_ns) };
}

function exitMessage(outcome: RunOutcome, stderrTail: readonly string[]): string {
  const how =
    outcome.kind === 'signaled'
      ? `was killed by ${outcome.signal ?? 'a signal'}`
      : `exited with code ${outcome.exitCode}`;
  const tail = stderrTail.slice(-3).join(' | ');
  return `workload ${how}${tail ? `; last stderr: ${tail}` : ''}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Disk full or over quota: a result that cannot be written whole is not written at all. */
function isOutOfSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

const IO_REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOENT: 'the directory vanished',
  EIO: 'an I/O error',
};

/** Runs the result-writing step; a file-system failure becomes one clear error naming the place. */
async function writingResult<T>(resultDir: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | null)?.code;
    if (!code || !(code in IO_REASONS)) throw error;
    throw new LlemError(`cannot write the result into ${dirname(resultDir)}: ${IO_REASONS[code]} (${code})`, {
      fix: 'Free space or fix the results directory (--results-dir), then run again: only what is missing is measured.',
      cause: error,
    });
  }
}

/** Makes a rename inside `dir` durable. */
async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
