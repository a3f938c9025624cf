import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Clock, isoUtc } from '../clock.js';
import type { ExperimentConfig } from '../config/experiment.js';
import type { Logger } from '../di/logger.js';
import type { BaselineInfo, EnergyMeasurement } from '../energy/measurement.js';
import {
  BackendError,
  EnergyError,
  errnoOf,
  InterruptedError,
  isInterruptedError,
  isLlemError,
  LlemError,
  messageOf,
} from '../errors.js';
import { fsyncDirectory, writeFileAtomic } from '../fs/atomic-write.js';
import { pathExists } from '../fs/path-exists.js';
import type {
  BackendContext,
  BackendPlugin,
  CollectContext,
  LaunchMode,
  LaunchPlan,
  ResultAddition,
} from '../plugins/backend.js';
import type { EnergyMeter, LiveEnergyJ, MeasurementWindowNs, SamplerTrace } from '../plugins/energy.js';
import type { Runner, RunOutcome, RunSpec } from '../plugins/runner.js';
import type { ProtocolEvent } from '../protocol/events.js';
import type { ExperimentResult } from '../results/experiment-result.js';
import { RESULT_FILE_NAME } from '../results/read-results.js';
import { writeTimeseries } from '../results/timeseries.js';
import { type WorkloadResult, WorkloadResultSchema } from '../results/workload-result.js';
import { resolveInside } from '../security/ids.js';
import {
  type ExperimentState,
  type FailureKind,
  markFailed,
  transition,
  withProcess,
} from '../state/experiment-state.js';
import type { StateStore } from '../state/store.js';
import { setResultDirAside } from './adopt.js';
import { failpoint } from './failpoint.js';
import { WORK_DIR_NAME } from './naming.js';
import { emitProgress, type ProgressListener, type RunStep, type WindowEnergy } from './progress.js';
import { assembleResult } from './result-assembly.js';

/**
 * One attempt at measuring one experiment-cycle, after the claim: the steps of DESIGN.md's "one
 * experiment, end to end" as named methods over the attempt's own state (work dir, events, meter,
 * traces). `ExperimentOrchestrator` creates one per claimed run and calls `measure()`.
 */

const STDERR_TAIL_LINES = 50;
/** How often the live view is told the energy so far while the workload runs. */
const LIVE_ENERGY_INTERVAL_MS = 1000;
const TIMESERIES_MARGIN_S = 5;

/**
 * Energy since the window opened, from two live readings: measured and estimated apart, and
 * measured less each device's idle power (as the result adjusts it) when every measured device
 * has a baseline.
 */
function windowEnergy(
  now: LiveEnergyJ,
  open: { startNs: bigint; at: LiveEnergyJ },
  nowNs: bigint,
  baseline: BaselineInfo | null,
): WindowEnergy {
  const seconds = Math.max(0, Number(nowNs - open.startNs) / 1e9);
  const devices = Object.entries(now.measuredByDevice ?? {});
  let adjustedJ: number | null = null;
  if (baseline && devices.length > 0 && devices.every(([id]) => baseline.power_w[id] !== undefined)) {
    adjustedJ = 0;
    for (const [id, joules] of devices) {
      const since = joules - (open.at.measuredByDevice?.[id] ?? 0);
      adjustedJ += Math.max(0, since - (baseline.power_w[id] ?? 0) * seconds);
    }
  }
  return {
    seconds,
    measuredJ: Math.max(0, now.measuredJ - open.at.measuredJ),
    estimatedJ: Math.max(0, now.estimatedJ - open.at.estimatedJ),
    adjustedJ,
  };
}

/** A timed-out workload: failed with kind `timeout`. */
export class TimeoutFailure extends LlemError {}

export interface AttemptInput {
  config: ExperimentConfig;
  configHash: string;
  experimentId: string;
  studyId: string | null;
  cycle: number | null;
  outputDir: string;
  resultDirName: string;
  gapBeforeS: number | null;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

export interface AttemptServices {
  store: StateStore;
  runner: Runner;
  plugin: BackendPlugin;
  launch: LaunchMode;
  /** The experiment's meter (null: energy not measured). */
  meter: EnergyMeter | null;
  clock: Clock;
  logger: Logger;
}

export type AttemptOutcome =
  | { status: 'done'; resultDir: string; resultPath: string; result: ExperimentResult }
  | { status: 'failed'; error: string; failureKind: FailureKind; logPath: string | null };

interface Launched {
  spec: RunSpec;
  outcome: RunOutcome;
  traces: SamplerTrace[];
}

interface Collected {
  workload: WorkloadResult;
  window: MeasurementWindowNs;
  energy: EnergyMeasurement | null;
}

export class Attempt {
  private state: ExperimentState;
  private readonly workDir: string;
  private readonly logFile: string;
  private readonly resultDir: string;
  private readonly startedUtc: string;
  private readonly t0: bigint;
  private readonly warnings: string[] = [];
  private readonly events: ProtocolEvent[] = [];
  private readonly stderrTail: string[] = [];
  private plan: LaunchPlan | undefined;
  private ctx: BackendContext | undefined;
  private meterRunning = false;
  private measuringSaved: Promise<unknown> = Promise.resolve();
  private liveTimer: NodeJS.Timeout | undefined;
  private baseline: BaselineInfo | null = null;
  private baselineS: number | null = null;

  constructor(
    private readonly input: AttemptInput,
    claimed: ExperimentState,
    private readonly services: AttemptServices,
  ) {
    this.state = claimed;
    this.startedUtc = isoUtc(services.clock.now());
    this.t0 = services.clock.monotonicNs();
    this.workDir = join(input.outputDir, WORK_DIR_NAME, input.experimentId, `attempt-${claimed.attempt}`);
    this.logFile = join(this.workDir, 'workload.log');
    this.resultDir = join(input.outputDir, input.resultDirName);
  }

  get attempt(): number {
    return this.state.attempt;
  }

  /** Every step in order. Never throws but for an interrupt (InterruptedError, state recorded). */
  async measure(): Promise<AttemptOutcome> {
    try {
      await this.prepare();
      await this.measureBaseline();
      const launched = await this.launch();
      const collected = await this.collect(launched);
      const result = await this.commit(launched, collected);
      await this.markDone(result);
      return {
        status: 'done',
        resultDir: this.resultDir,
        resultPath: join(this.resultDir, RESULT_FILE_NAME),
        result,
      };
    } catch (error) {
      return this.fail(error);
    } finally {
      await this.cleanUp();
    }
  }

  private step(name: RunStep, detail?: string): void {
    emitProgress(this.input.onProgress, {
      type: 'step',
      experimentId: this.input.experimentId,
      step: name,
      detail,
    });
  }

  private async save(next: ExperimentState): Promise<ExperimentState> {
    this.state = await this.services.store.save(next);
    return this.state;
  }

  private checkInterrupted(): void {
    if (this.input.signal?.aborted) throw new InterruptedError('interrupted');
  }

  /** The backend's launch plan, and the files it asks for written into the work dir. */
  private async prepare(): Promise<void> {
    const { config, configHash, experimentId, signal } = this.input;
    const { plugin, launch, logger } = this.services;
    await mkdir(this.workDir, { recursive: true, mode: 0o700 });
    this.ctx = {
      config,
      section: config[config.backend],
      configHash,
      experimentId,
      workDir: this.workDir,
      launch,
      signal,
      log: (m) => logger.debug(`${experimentId}: ${m}`),
    };
    this.step('preparing');
    this.plan = await plugin.prepare(this.ctx);
    for (const file of this.plan.files ?? []) {
      const target = resolveInside(this.workDir, file.path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, file.content, { mode: file.mode ?? 0o600 });
    }
  }

  /** Idle power of the experiment's devices, measured or from a fresh cache. */
  private async measureBaseline(): Promise<void> {
    const { config, signal } = this.input;
    const { meter, clock } = this.services;
    if (config.energy.enabled && !meter)
      this.warnings.push('energy not measured: no energy meter is available on this machine');
    if (meter && config.baseline.enabled) {
      this.step('baseline');
      const tb = clock.monotonicNs();
      this.baseline = await meter.baseline({
        durationS: config.baseline.duration_seconds,
        ttlS: config.baseline.cache_ttl_seconds,
        signal,
      });
      this.baselineS = Number(clock.monotonicNs() - tb) / 1e9;
      if (!this.baseline) this.warnings.push('no idle baseline: energy is reported unadjusted');
    }
    this.checkInterrupted();
  }

  /** Starts the meter, runs the workload to its end, stops the meter. */
  private async launch(): Promise<Launched> {
    const { config, experimentId, signal, onProgress } = this.input;
    const { meter, runner, launch, clock } = this.services;
    const plan = this.plan!;
    if (meter) {
      await meter.start();
      this.meterRunning = true;
    }
    this.step('launching', plan.description);
    const spec: RunSpec = {
      ...plan.spec,
      logFile: plan.spec.logFile ?? this.logFile,
      timeoutMs:
        plan.spec.timeoutMs ??
        (config.timeout_seconds === undefined ? undefined : config.timeout_seconds * 1000),
      label: plan.spec.label ?? experimentId,
    };
    // The window's energy is the energy since its window-start event (what the result counts);
    // before it, the figure includes model load and warmup, and says so.
    let windowOpen: { startNs: bigint; at: LiveEnergyJ } | null = null;
    let windowClosed = false;
    const emitLiveEnergy = () => {
      if (windowClosed) return;
      const live = this.meterRunning ? meter?.liveEnergyJ?.() : null;
      if (!live) return;
      const { measuredJ, estimatedJ } = live;
      const window = windowOpen && windowEnergy(live, windowOpen, clock.monotonicNs(), this.baseline);
      emitProgress(onProgress, { type: 'energy', experimentId, measuredJ, estimatedJ, window });
    };
    const outcome = await runner.run(spec, {
      signal,
      onSpawn: (pid) => {
        // Only a local workload's pid is in NVML's (the host's) namespace with its children;
        // a container's processes are not the docker client's descendants.
        if (launch === 'local') meter?.setWorkloadPids?.([pid]);
        if (meter?.liveEnergyJ && onProgress && !this.liveTimer) {
          this.liveTimer = setInterval(emitLiveEnergy, LIVE_ENERGY_INTERVAL_MS);
          this.liveTimer.unref();
        }
        // Recorded at once, so a crash during model load is found stale later.
        this.measuringSaved = this.measuringSaved
          .then(() => this.save(withProcess(transition(this.state, 'measuring', clock), pid, clock)))
          .then(() => this.step('measuring'));
      },
      onEvent: (event) => {
        this.events.push(event);
        if (event.event === 'window-end') failpoint('window-ended');
        emitProgress(onProgress, { type: 'workload', experimentId, event });
        if (event.event === 'window-start' && this.meterRunning && meter?.liveEnergyJ) {
          const at = meter.liveEnergyJ();
          if (at) windowOpen = { startNs: BigInt(event.t_mono_ns), at };
          emitLiveEnergy();
        }
        if (event.event === 'progress') emitLiveEnergy();
        if (event.event === 'window-end') {
          emitLiveEnergy();
          windowClosed = true;
        }
      },
      onLine: (line, stream) => {
        if (stream === 'stderr') {
          this.stderrTail.push(line);
          if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
        }
        emitProgress(onProgress, { type: 'log', experimentId, line, stream });
      },
    });
    clearInterval(this.liveTimer);
    await this.measuringSaved;
    let traces: SamplerTrace[] = [];
    if (meter && this.meterRunning) {
      this.meterRunning = false;
      traces = await meter.stop();
    }
    if (outcome.kind === 'interrupted' || signal?.aborted) throw new InterruptedError('interrupted');
    if (outcome.kind === 'timed-out')
      throw new TimeoutFailure(
        `timed out after ${((spec.timeoutMs ?? outcome.durationMs) / 1000).toFixed(0)} s and was stopped`,
      );
    // A runner that never reported the spawn: the phase machine still needs measuring before done.
    if (this.state.phase === 'initialising')
      await this.save(withProcess(transition(this.state, 'measuring', clock), outcome.pid, clock));
    return { spec, outcome, traces };
  }

  /** The workload's result from the backend, its window, and the energy over that window. */
  private async collect(launched: Launched): Promise<Collected> {
    const { config } = this.input;
    const { meter } = this.services;
    this.step('collecting');
    const workload = await this.workloadResult(launched.outcome);
    const window = windowOf(this.events, workload);
    let energy: EnergyMeasurement | null = null;
    if (meter) {
      energy = meter.integrate(launched.traces, window, this.baseline);
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
    return { workload, window, energy };
  }

  /** Asks the backend for the workload result; a failed workload becomes one clear message. */
  private async workloadResult(outcome: RunOutcome): Promise<WorkloadResult> {
    const { plugin } = this.services;
    const ctx: CollectContext = { ...this.ctx!, outcome, events: this.events, stderrTail: this.stderrTail };
    const succeeded = outcome.kind === 'exited' && outcome.exitCode === 0;
    const errorEvent = [...this.events].reverse().find((event) => event.event === 'error');
    if (!succeeded && errorEvent?.event === 'error')
      throw new BackendError(`workload failed: ${errorEvent.message}`);
    let collected: WorkloadResult;
    try {
      collected = await plugin.collect(ctx);
    } catch (error) {
      if (succeeded) throw error;
      // The exit comes first; the backend's explanation (e.g. a translated Docker error) follows.
      throw new BackendError(
        `${exitMessage(outcome, this.stderrTail)}${isLlemError(error) ? `; ${error.message}` : ''}`,
      );
    }
    if (!succeeded) throw new BackendError(exitMessage(outcome, this.stderrTail));
    const parsed = WorkloadResultSchema.safeParse(collected);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new BackendError(
        `backend '${plugin.name}' returned an invalid workload result: ${first?.path.join('.') || '(root)'}: ${first?.message}`,
      );
    }
    return parsed.data;
  }

  /**
   * Writes the result: the whole result directory is built in the attempt's scratch folder and
   * moved into place by one rename, so a result directory is complete or absent, never half-written.
   * That rename is the commit: from here on, the measurement happened (see adopt.ts).
   */
  private async commit(launched: Launched, collected: Collected): Promise<ExperimentResult> {
    failpoint('result-writing');
    this.step('writing');
    const staging = join(this.workDir, 'result');
    const files: Record<string, string> = {};
    const result = await writingResult(this.resultDir, async () => {
      await rm(staging, { recursive: true, force: true });
      // Not recursive: the scratch folder exists, and Node's recursive mkdir says ENOENT for EROFS.
      await mkdir(staging);
      if (launched.spec.logFile === this.logFile && (await pathExists(this.logFile))) {
        await copyFile(this.logFile, join(staging, 'workload.log'));
        files.log = 'workload.log';
      }
      await this.writeTimeseries(staging, launched.traces, collected.window, files);
      const addition = await this.completeResult(launched, collected, staging);
      Object.assign(files, addition?.files);
      this.warnings.push(...(addition?.warnings ?? []));
      const assembled = this.assemble(launched, collected, files, addition?.serving);
      await writeFileAtomic(join(staging, RESULT_FILE_NAME), `${JSON.stringify(assembled, null, 2)}\n`);
      failpoint('result-staged');
      // Whatever sits where this result goes is not this attempt's: kept aside, never overwritten.
      const aside = await setResultDirAside(this.resultDir, `replaced-by-attempt-${this.state.attempt}`);
      if (aside)
        this.services.logger.warn(
          `${this.input.experimentId}: an earlier result directory was moved to ${aside}.`,
        );
      await rename(staging, this.resultDir);
      await fsyncDirectory(dirname(this.resultDir));
      return assembled;
    });
    failpoint('result-committed');
    return result;
  }

  /** Readings around the window (baseline, model load), trimmed to a few seconds either side. */
  private async writeTimeseries(
    dir: string,
    traces: readonly SamplerTrace[],
    window: MeasurementWindowNs,
    files: Record<string, string>,
  ): Promise<void> {
    if (!traces.some((trace) => trace.devices.some((device) => device.readings.length > 0))) return;
    try {
      Object.assign(files, await writeTimeseries(dir, [...traces], window, { marginS: TIMESERIES_MARGIN_S }));
    } catch (error) {
      if (isOutOfSpace(error)) throw error;
      this.warnings.push(`timeseries sidecar not written: ${messageOf(error)}`);
    }
  }

  /** The backend's additions that need the window's energy (BackendPlugin.completeResult). */
  private async completeResult(
    launched: Launched,
    collected: Collected,
    resultDir: string,
  ): Promise<ResultAddition | undefined> {
    const { plugin, meter } = this.services;
    if (!plugin.completeResult) return undefined;
    const baseline = this.baseline;
    return plugin.completeResult({
      ...this.ctx!,
      workload: collected.workload,
      window: collected.window,
      energy: collected.energy,
      traces: launched.traces,
      baseline,
      energyOver: (window) => (meter ? meter.integrate(launched.traces, window, baseline) : null),
      resultDir,
    });
  }

  private assemble(
    launched: Launched,
    collected: Collected,
    files: Record<string, string>,
    serving?: ExperimentResult['serving'],
  ): ExperimentResult {
    const { config, configHash, experimentId, studyId, cycle, gapBeforeS } = this.input;
    const { plugin, launch, clock } = this.services;
    return assembleResult({
      experimentId,
      configHash,
      studyId,
      cycle,
      attempt: this.state.attempt,
      config,
      backendName: plugin.name,
      backendVersion: plugin.version ?? null,
      launch,
      workload: collected.workload,
      energy: collected.energy,
      timings: {
        started_utc: this.startedUtc,
        finished_utc: isoUtc(clock.now()),
        wall_s: Number(clock.monotonicNs() - this.t0) / 1e9,
        baseline_s: this.baselineS,
        process_s: launched.outcome.durationMs / 1000,
        gap_before_s: gapBeforeS,
      },
      warnings: this.warnings,
      files,
      serving,
    });
  }

  /** The state says done; the attempt's scratch folder goes. */
  private async markDone(result: ExperimentResult): Promise<void> {
    await this.save(transition(this.state, 'done', this.services.clock));
    failpoint('state-done');
    await rm(join(this.input.outputDir, WORK_DIR_NAME, this.input.experimentId), {
      recursive: true,
      force: true,
    });
    emitProgress(this.input.onProgress, { type: 'result', experimentId: this.input.experimentId, result });
    this.step('done', join(this.resultDir, RESULT_FILE_NAME));
  }

  /** Records the failure on the state; an interrupt is rethrown (exit 130), anything else reported. */
  private async fail(error: unknown): Promise<AttemptOutcome> {
    const { signal, experimentId } = this.input;
    const { meter, clock, logger } = this.services;
    clearInterval(this.liveTimer);
    if (this.meterRunning) await meter?.stop().catch(() => undefined);
    await this.measuringSaved.catch(() => undefined);
    const interrupted = isInterruptedError(error) || signal?.aborted === true;
    const kind: FailureKind = interrupted
      ? 'interrupted'
      : error instanceof TimeoutFailure
        ? 'timeout'
        : 'error';
    const message = interrupted ? 'interrupted' : messageOf(error);
    try {
      await this.save(markFailed(this.state, message, kind, clock));
    } catch (saveError) {
      logger.warn(`${experimentId}: could not record the failure (${messageOf(saveError)})`);
    }
    this.step(interrupted ? 'interrupted' : 'failed', message);
    if (interrupted) throw isInterruptedError(error) ? error : new InterruptedError('interrupted');
    const logPath = (await pathExists(this.logFile)) ? this.logFile : null;
    return { status: 'failed', error: message, failureKind: kind, logPath };
  }

  /** Backends put secrets files anywhere (often outside workDir): relative paths are taken from workDir. */
  private async cleanUp(): Promise<void> {
    for (const path of this.plan?.cleanupPaths ?? []) {
      try {
        await rm(resolve(this.workDir, path), { force: true });
      } catch (error) {
        this.services.logger.warn(
          `${this.input.experimentId}: could not remove ${path} (${messageOf(error)})`,
        );
      }
    }
  }
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

/** Disk full or over quota: a result that cannot be written whole is not written at all. */
function isOutOfSpace(error: unknown): boolean {
  const code = errnoOf(error);
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
    const code = errnoOf(error);
    if (!code || !(code in IO_REASONS)) throw error;
    throw new LlemError(`cannot write the result into ${dirname(resultDir)}: ${IO_REASONS[code]} (${code})`, {
      fix: 'Free space or fix the results directory (--results-dir), then run again: only what is missing is measured.',
      cause: error,
    });
  }
}
