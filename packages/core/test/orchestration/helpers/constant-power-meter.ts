import type {
  BaselineInfo,
  EnergyMeasurement,
  EnergyMeter,
  LiveEnergyJ,
  MeasurementWindowNs,
  ProbeResult,
  SamplerTrace,
} from '../../../src/index.js';

/**
 * An EnergyMeter written against the contract for machines without GPUs: one device drawing a
 * constant power, so energy = watts x window. Temperatures come from a scripted sequence.
 */
export class ConstantPowerMeter implements EnergyMeter {
  starts = 0;
  stops = 0;
  /** What the orchestrator told setWorkloadPids, per run. */
  workloadPids: number[][] = [];
  constructor(
    private readonly options: {
      watts: number;
      idleWatts?: number;
      source?: 'counter' | 'estimate';
      failQuality?: boolean;
      temperatures?: number[];
    } = { watts: 100 },
  ) {}

  async probe(): Promise<ProbeResult[]> {
    return [{ available: true, devices: [{ id: 'gpu0', kind: 'gpu', name: 'Constant GPU' }] }];
  }

  async baseline(): Promise<BaselineInfo | null> {
    if (this.options.idleWatts === undefined) return null;
    return {
      taken_at_utc: new Date().toISOString(),
      duration_s: 0,
      from_cache: true,
      age_s: 0,
      power_w: { gpu0: this.options.idleWatts },
    };
  }

  private startedNs = 0n;
  private running = false;

  async start(): Promise<void> {
    this.starts++;
    this.startedNs = process.hrtime.bigint();
    this.running = true;
  }

  setWorkloadPids(pids: readonly number[]): void {
    this.workloadPids.push([...pids]);
  }

  /** Constant power since start: watts x elapsed, as measured or estimated energy per `source`. */
  liveEnergyJ(): LiveEnergyJ | null {
    if (!this.running) return null;
    const joules = (this.options.watts * Number(process.hrtime.bigint() - this.startedNs)) / 1e9;
    return this.options.source === 'estimate'
      ? { measuredJ: 0, estimatedJ: joules }
      : { measuredJ: joules, estimatedJ: 0 };
  }

  /** Two power readings (start and stop), like a sampler polling at a very slow rate. */
  async stop(): Promise<SamplerTrace[]> {
    this.stops++;
    this.running = false;
    const device = { id: 'gpu0', kind: 'gpu' as const, name: 'Constant GPU' };
    const readings = [this.startedNs, process.hrtime.bigint()].map((tMonoNs) => ({
      tMonoNs,
      powerW: this.options.watts,
    }));
    return [{ sampler: 'constant', intervalMs: 100, devices: [{ device, source: 'power', readings }] }];
  }

  integrate(
    _traces: readonly SamplerTrace[],
    window: MeasurementWindowNs,
    baseline: BaselineInfo | null,
  ): EnergyMeasurement {
    const seconds = Number(window.endNs - window.startNs) / 1e9;
    const energy = this.options.watts * seconds;
    const idle = baseline?.power_w.gpu0 ?? null;
    const baselineJ = idle === null ? null : idle * seconds;
    const adjusted = baselineJ === null ? null : Math.max(0, energy - baselineJ);
    const source = this.options.source ?? 'counter';
    const estimated = source === 'estimate';
    return {
      window_s: seconds,
      devices: [
        {
          device_id: 'gpu0',
          kind: 'gpu',
          name: 'Constant GPU',
          sampler: 'constant',
          source,
          energy_j: energy,
          baseline_power_w: idle,
          baseline_j: baselineJ,
          adjusted_j: adjusted,
          mean_power_w: this.options.watts,
          peak_power_w: this.options.watts,
          cross_check_j: null,
          disagreement_pct: null,
        },
      ],
      total: {
        measured_j: estimated ? 0 : energy,
        estimated_j: estimated ? energy : 0,
        baseline_j: estimated ? null : baselineJ,
        adjusted_j: estimated ? null : adjusted,
      },
      baseline,
      quality: {
        ok: !this.options.failQuality,
        warnings: this.options.failQuality
          ? [
              {
                code: 'window-too-short',
                severity: 'fail',
                message: 'window shorter than 5 s',
                device_id: null,
              },
            ]
          : [],
        counter_updates: null,
        counter_wraps: 0,
        counter_regressions: 0,
        max_sample_gap_ms: null,
        throttled: false,
      },
    };
  }

  async temperatures(): Promise<Record<string, number>> {
    const sequence = this.options.temperatures ?? [40];
    const value = sequence.length > 1 ? sequence.shift()! : sequence[0]!;
    return { gpu0: value };
  }
}
