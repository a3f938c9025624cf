import { type ProbeResult, type SimulatedGpuConfig, SimulatedGpuConfigSchema } from '@llem/core';
import { PollingSampler, type PollingSamplerOptions } from '../polling-sampler.js';
import type { EnergyDeviceTrace } from '../types.js';
import { SimulatedBoard, unitRandom } from './board.js';
import { SIMULATED_PROFILES, type SimulatedGpuProfile } from './profiles.js';

export interface SimulatedSamplerOptions extends PollingSamplerOptions {
  /** The `energy.simulated` section (defaults: an H100). */
  config?: Partial<SimulatedGpuConfig>;
  /** Replaces the utilisation model while active (tests): true power in W at t s after the epoch. */
  activePowerW?: (t: number) => number;
}

/** The profile with the section's overrides applied. */
export function resolveSimulatedProfile(config: SimulatedGpuConfig): SimulatedGpuProfile {
  const base = SIMULATED_PROFILES[config.profile];
  return {
    ...base,
    ...(config.idle_w !== undefined ? { idleW: config.idle_w } : {}),
    ...(config.tdp_w !== undefined ? { tdpW: config.tdp_w } : {}),
    ...(config.update_period_ms !== undefined ? { updatePeriodMs: config.update_period_ms } : {}),
    ...(config.averaging_window_ms !== undefined ? { averagingWindowMs: config.averaging_window_ms } : {}),
    ...(config.observed_fraction !== undefined ? { observedFraction: config.observed_fraction } : {}),
  };
}

/**
 * `energy.samplers: [simulated]`: GPUs that exist only in software, read like NVML reads a real
 * one (energy counter and power reading, see SimulatedBoard), so a study on a laptop or in CI
 * goes through the whole energy chain. The boards are idle until the meter marks the workload's
 * run (setActive), then draw idle + (TDP - idle) x utilisation. Every figure from it is labelled
 * `simulated`, never `counter`.
 */
export class SimulatedSampler extends PollingSampler {
  readonly name = 'simulated';
  readonly estimated = false;
  readonly config: SimulatedGpuConfig;
  readonly profile: SimulatedGpuProfile;
  readonly boards: SimulatedBoard[];
  private readonly epochNs: bigint;
  private traces: EnergyDeviceTrace[] = [];

  constructor(options: SimulatedSamplerOptions = {}) {
    super('simulated sampler', options);
    this.config = SimulatedGpuConfigSchema.parse(options.config ?? {});
    this.profile = resolveSimulatedProfile(this.config);
    this.epochNs = this.clock.monotonicNs();
    const { seed, gpus, gain_error_pct, utilisation, burstiness, reload_after_s } = this.config;
    this.boards = Array.from({ length: gpus }, (_, i) => {
      const gain = 1 + (gain_error_pct / 100) * (2 * unitRandom(seed, 1_000_003 + i) - 1);
      return new SimulatedBoard({
        profile: this.profile,
        gain,
        seed: (seed * 31 + i) | 0,
        utilisation,
        burstiness,
        reloadAfterS: reload_after_s,
        counterOffsetMj: Math.floor(unitRandom(seed, 2_000_003 + i) * 1e9),
        ...(options.activePowerW ? { activePowerW: options.activePowerW } : {}),
      });
    });
    this.beginReadings();
  }

  private devices() {
    return this.boards.map((_, index) => ({
      id: `gpu${index}`,
      kind: 'gpu' as const,
      name: `${this.profile.name} (simulated)`,
      uuid: `GPU-simulated-${this.config.profile}-${this.config.seed}-${index}`,
      index,
    }));
  }

  async probe(): Promise<ProbeResult> {
    return {
      available: true,
      devices: this.devices(),
      notes: [`simulated ${this.config.profile}: no real GPU is measured`],
    };
  }

  /** Seconds since the epoch, now. */
  now(): number {
    return Number(this.clock.monotonicNs() - this.epochNs) / 1e9;
  }

  /** The workload runs on the boards from now (true) or they are idle (false). */
  setActive(active: boolean): void {
    const t = this.now();
    for (const board of this.boards) board.setActive(t, active);
  }

  protected beginReadings(): void {
    this.traces = this.devices().map((device) => ({
      device,
      source: 'counter' as const,
      simulated: true,
      readings: [],
    }));
  }

  liveTraces(): EnergyDeviceTrace[] {
    return this.traces;
  }

  /** One reading of every board at the clock's now. */
  protected tick(): void {
    const tMonoNs = this.clock.monotonicNs();
    const t = Number(tMonoNs - this.epochNs) / 1e9;
    this.boards.forEach((board, i) => {
      const { energyMj, powerW } = board.read(t);
      const u = board.utilisationAt(t);
      this.traces[i]?.readings.push({
        tMonoNs,
        energyMj,
        powerW,
        temperatureC: Math.round(board.temperatureC * 10) / 10,
        utilisationPct: Math.round(u * 100),
        memoryUsedBytes: board.isActive(t) ? Math.round(this.profile.memoryBytes * 0.4) : 0,
      });
    });
  }
}
