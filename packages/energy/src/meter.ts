/**
 * SamplingEnergyMeter: picks the samplers that can run, runs them around a workload, measures or
 * reuses the idle baseline, and integrates energy over the workload's measurement window.
 */
import {
  type BaselineInfo,
  type Clock,
  EnergyError,
  type EnergyMeasurement,
  type EnergyMeter,
  type EnergyReading,
  type EnergySampler,
  type EnergySamplerName,
  type LiveEnergyJ,
  type MeasurementWindowNs,
  type ProbeResult,
  type SamplerTrace,
  systemClock,
} from '@llem/core';
import { BaselineCache } from './baseline-cache.js';
import { LiveEnergy } from './live-energy.js';
import { integrateTraces, type QualityThresholds } from './measure.js';
import { createSamplers, type EnergyConfig, type SamplerSources } from './samplers.js';
import type { EnergyDeviceTrace } from './types.js';
import { measuredUpdatePeriodS, robustSpread } from './uncertainty.js';

/**
 * Idle power per counter update: each energy step over the counter's update period measured from
 * the readings (reading times jitter; the counter's period does not). The first step is left out
 * (it may straddle the load before the baseline).
 */
function counterPowers(readings: readonly EnergyReading[], startNs: bigint): number[] {
  const points = readings
    .filter((r) => r.energyMj !== undefined)
    .map((r) => ({ t: Number(r.tMonoNs - startNs) / 1e9, v: r.energyMj as number }));
  const period = measuredUpdatePeriodS(points);
  if (period === null || period <= 0) return [];
  const steps: number[] = [];
  for (let i = 1; i < points.length; i++) {
    const dE = (points[i] as { v: number }).v - (points[i - 1] as { v: number }).v;
    if (dE > 0) steps.push(dE / 1000 / period);
  }
  return steps.slice(1);
}

/** A sampler that imitates a device: the meter tells it when the workload runs (the simulated GPU). */
type Activatable = EnergySampler & { setActive(active: boolean): void };
const activatable = (s: EnergySampler): s is Activatable =>
  typeof (s as Partial<Activatable>).setActive === 'function';

export type { EnergyConfig } from './samplers.js';

export interface SamplingEnergyMeterOptions {
  /** Candidate samplers, in precedence order. */
  samplers: readonly EnergySampler[];
  /** `auto`: every available sampler (the CPU estimate only when no CPU counter is available). */
  selection?: 'auto' | readonly EnergySamplerName[];
  quality?: QualityThresholds;
  /** Where the idle baseline is cached; no caching without it. */
  cacheDir?: string;
  clock?: Clock;
}

interface Probed {
  sampler: EnergySampler;
  result: ProbeResult;
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class SamplingEnergyMeter implements EnergyMeter {
  private readonly samplers: readonly EnergySampler[];
  private readonly selection: 'auto' | readonly EnergySamplerName[];
  private readonly quality: QualityThresholds | undefined;
  private readonly cache: BaselineCache | null;
  private readonly clock: Clock;
  private probed: Probed[] | null = null;
  private running: EnergySampler[] = [];
  private workloadPids: number[] | null = null;
  private live: LiveEnergy | null = null;

  constructor(options: SamplingEnergyMeterOptions) {
    this.samplers = options.samplers;
    this.selection = options.selection ?? 'auto';
    this.quality = options.quality;
    this.cache = options.cacheDir ? new BaselineCache(options.cacheDir) : null;
    this.clock = options.clock ?? systemClock;
  }

  private async probeAll(): Promise<Probed[]> {
    this.probed ??= await Promise.all(
      this.samplers.map(async (sampler) => ({ sampler, result: await sampler.probe() })),
    );
    return this.probed;
  }

  async probe(): Promise<ProbeResult[]> {
    return (await this.probeAll()).map((p) => p.result);
  }

  /** The samplers a run uses. An explicitly requested sampler that cannot run is an error with its fix. */
  async activeSamplers(): Promise<EnergySampler[]> {
    const probed = await this.probeAll();
    if (this.selection === 'auto') {
      const available = probed.filter((p) => p.result.available);
      // A CPU counter beats a CPU estimate: never report both for the same CPU.
      const hasCpuCounter = available.some((p) => p.sampler.name === 'rapl');
      return available.filter((p) => !(hasCpuCounter && p.sampler.estimated)).map((p) => p.sampler);
    }
    const active: EnergySampler[] = [];
    for (const name of this.selection) {
      const p = probed.find((x) => x.sampler.name === name);
      if (!p) throw new EnergyError(`Energy sampler '${name}' is not configured in this meter.`);
      if (!p.result.available) {
        throw new EnergyError(
          `Energy sampler '${name}' is not available: ${p.result.reason ?? 'unknown reason'}`,
          {
            fix: p.result.fix ?? 'Use energy.samplers: auto, or remove it from the list.',
          },
        );
      }
      active.push(p.sampler);
    }
    return active;
  }

  /** Sorted `id=uuid|name` of every device the active samplers measure: the baseline cache key. */
  private async deviceSet(active: readonly EnergySampler[]): Promise<string[]> {
    const probed = await this.probeAll();
    return probed
      .filter((p) => active.includes(p.sampler))
      .flatMap((p) => p.result.devices.map((d) => `${p.sampler.name}:${d.id}=${d.uuid ?? d.name}`))
      .sort();
  }

  async baseline(options: {
    durationS: number;
    ttlS: number;
    signal?: AbortSignal;
  }): Promise<BaselineInfo | null> {
    if (this.running.length)
      throw new EnergyError('Cannot measure an idle baseline while the energy meter is running.');
    const active = await this.activeSamplers();
    if (active.length === 0) return null;
    const deviceSet = await this.deviceSet(active);
    const cached = await this.cache?.lookup(deviceSet, options.ttlS, this.clock.now());
    if (cached) return cached;

    const takenAt = this.clock.now();
    await Promise.all(active.map((s) => s.start()));
    const startNs = this.clock.monotonicNs();
    let traces: SamplerTrace[];
    try {
      await abortableSleep(options.durationS * 1000, options.signal);
    } finally {
      traces = await Promise.all(active.map((s) => s.stop()));
    }
    const endNs = this.clock.monotonicNs();
    const idle = integrateTraces(traces, { startNs, endNs }, null);
    const powerW: Record<string, number> = {};
    for (const d of idle.devices) if (d.mean_power_w !== null) powerW[d.device_id] = d.mean_power_w;
    // The spread of the idle power readings in the baseline: the baseline term of the uncertainty.
    const spreadW: Record<string, number> = {};
    for (const trace of traces) {
      for (const dt of trace.devices) {
        const inBaseline = dt.readings.filter((r) => r.tMonoNs >= startNs && r.tMonoNs <= endNs);
        // A counter's power between its updates (a polled power reading may still be averaging
        // the load before the baseline); else the power readings.
        const readings =
          dt.source === 'counter'
            ? counterPowers(inBaseline, startNs)
            : inBaseline.flatMap((r) => (r.powerW === undefined ? [] : [r.powerW]));
        if (readings.length >= 2 && dt.device.id in powerW)
          spreadW[dt.device.id] = Number(robustSpread(readings).toFixed(6));
      }
    }
    const temperatureC: Record<string, number> = {};
    for (const trace of traces) {
      for (const dt of trace.devices) {
        const t = dt.readings.findLast((r) => r.temperatureC !== undefined)?.temperatureC;
        if (t !== undefined) temperatureC[dt.device.id] = t;
      }
    }
    const info: BaselineInfo = {
      taken_at_utc: takenAt.toISOString(),
      duration_s: idle.window_s,
      from_cache: false,
      age_s: 0,
      power_w: powerW,
    };
    if (Object.keys(temperatureC).length) info.temperature_c = temperatureC;
    if (Object.keys(spreadW).length) info.power_spread_w = spreadW;
    await this.cache?.store({
      device_set: deviceSet,
      taken_at_utc: info.taken_at_utc,
      duration_s: info.duration_s,
      power_w: powerW,
      ...(info.temperature_c ? { temperature_c: info.temperature_c } : {}),
      ...(info.power_spread_w ? { power_spread_w: info.power_spread_w } : {}),
    });
    return info;
  }

  async start(): Promise<void> {
    if (this.running.length) throw new EnergyError('The energy meter is already running.');
    const active = await this.activeSamplers();
    const started: EnergySampler[] = [];
    try {
      for (const s of active) {
        await s.start();
        started.push(s);
      }
    } catch (error) {
      await Promise.all(started.map((s) => s.stop()));
      throw error;
    }
    this.running = started;
    // A simulated GPU draws active power from here to stop(): the workload's run.
    for (const s of started) if (activatable(s)) s.setActive(true);
    this.workloadPids = null;
    this.live = new LiveEnergy();
  }

  /**
   * The workload's root pid(s), in NVML's (the host's) pid namespace: they and their descendants
   * are ours; any other compute process on a measured GPU during the window is flagged
   * (`foreign_gpu_process`). Not called (e.g. Docker), processes seen are only noted.
   */
  setWorkloadPids(pids: readonly number[]): void {
    this.workloadPids = [...pids];
  }

  /**
   * Energy since start() from the readings so far (counter delta, power trapezoid; estimates
   * apart). Incremental: each call reads only the readings added since the last one.
   */
  liveEnergyJ(): LiveEnergyJ | null {
    if (!this.live || this.running.length === 0) return null;
    const traces = this.running.flatMap(
      (s) => (s as Partial<{ liveTraces(): EnergyDeviceTrace[] }>).liveTraces?.call(s) ?? [],
    );
    return this.live.update(traces, this.clock.monotonicNs());
  }

  async stop(): Promise<SamplerTrace[]> {
    const running = this.running;
    this.running = [];
    this.live = null;
    const traces = await Promise.all(running.map((s) => s.stop()));
    for (const s of running) if (activatable(s)) s.setActive(false);
    return traces;
  }

  integrate(
    traces: readonly SamplerTrace[],
    window: MeasurementWindowNs,
    baseline: BaselineInfo | null,
  ): EnergyMeasurement {
    return integrateTraces(traces, window, baseline, this.quality, { workloadPids: this.workloadPids });
  }

  /** Stops anything still running and releases the samplers' resources (NVML shutdown). */
  async close(): Promise<void> {
    await this.stop();
    for (const s of this.samplers) (s as Partial<{ close(): void }>).close?.call(s);
    this.probed = null;
  }

  async temperatures(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const s of await this.activeSamplers()) {
      const reader = (s as Partial<{ temperatures(): Promise<Record<string, number>> }>).temperatures;
      if (reader) Object.assign(out, await reader.call(s));
    }
    return out;
  }
}

export interface CreateEnergyMeterOptions extends SamplerSources {
  cacheDir?: string;
  clock?: Clock;
}

/**
 * Builds the meter an experiment's `energy` section asks for: one sampler of each kind from the
 * sampler table (src/samplers.ts), in its precedence order (nvml, rapl, cpu-estimate); the meter
 * runs those `energy.samplers` names (or, for `auto`, every one that is available).
 */
export function createEnergyMeter(
  config: EnergyConfig,
  options: CreateEnergyMeterOptions = {},
): SamplingEnergyMeter {
  const { cacheDir, clock: given, ...sources } = options;
  const clock = given ?? systemClock;
  const samplers: EnergySampler[] = config.enabled ? createSamplers({ config, sources, clock }) : [];
  return new SamplingEnergyMeter({
    samplers,
    selection: config.enabled ? config.samplers : 'auto',
    quality: {
      min_window_seconds: config.min_window_seconds,
      max_disagreement_pct: config.max_disagreement_pct,
      quality_policy: config.quality_policy,
      ...(config.sensor_error_pct !== undefined ? { sensor_error_pct: config.sensor_error_pct } : {}),
    },
    cacheDir,
    clock,
  });
}
