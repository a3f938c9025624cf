import { type Clock, type EnergySampler, type ProbeResult, type SamplerTrace, systemClock } from '@llem/core';
import { SamplingLoop } from './sampling-loop.js';
import type { EnergyDeviceTrace } from './types.js';

export interface PollingSamplerOptions {
  /** Sample period in ms (default 100). */
  intervalMs?: number;
  clock?: Clock;
}

/**
 * The life cycle every polling sampler shares: start only after a successful probe and only once,
 * tick on a SamplingLoop, and on stop hand over what was read as one trace. Subclasses say how to
 * probe, how to take one reading (`tick`) and how their readings become device traces.
 */
export abstract class PollingSampler implements EnergySampler {
  abstract readonly name: string;
  abstract readonly estimated: boolean;
  readonly intervalMs: number;
  protected readonly clock: Clock;
  private loop: SamplingLoop | null = null;

  constructor(
    /** Names the sampler in "already running" (e.g. 'NVML sampler'). */
    private readonly label: string,
    options: PollingSamplerOptions,
  ) {
    this.intervalMs = options.intervalMs ?? 100;
    this.clock = options.clock ?? systemClock;
  }

  abstract probe(): Promise<ProbeResult>;
  /** Takes one reading of every device, stamped with `clock.monotonicNs()`. */
  protected abstract tick(): void;
  /** Clears what an earlier run read, before the first tick. */
  protected abstract beginReadings(): void;
  /**
   * The readings since start, per device, without copying or clearing them: the live arrays the
   * next tick appends to (read by the meter's running "joules so far").
   */
  abstract liveTraces(): EnergyDeviceTrace[];

  /** The readings since start, per device; clears them. */
  protected takeTraces(): EnergyDeviceTrace[] {
    const traces = this.liveTraces();
    this.beginReadings();
    return traces;
  }

  async start(): Promise<void> {
    const probe = await this.probe();
    if (!probe.available) throw new Error(probe.reason);
    if (this.loop) throw new Error(`${this.label} is already running.`);
    this.beginReadings();
    this.loop = new SamplingLoop(this.intervalMs, () => this.tick());
    this.loop.start();
  }

  async stop(): Promise<SamplerTrace> {
    this.stopLoop();
    return { sampler: this.name, intervalMs: this.intervalMs, devices: this.takeTraces() };
  }

  /** Whether the loop is ticking (between start and stop). */
  protected get running(): boolean {
    return this.loop !== null;
  }

  /** Stops the loop (it takes one last reading) and forgets it. */
  protected stopLoop(): void {
    this.loop?.stop();
    this.loop = null;
  }
}
