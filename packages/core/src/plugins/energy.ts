import type { ExperimentConfigBase } from '../config/experiment.js';
import type { BaselineInfo, EnergyMeasurement } from '../energy/measurement.js';
import type { DoctorCheck } from './backend.js';

export type DeviceKind = 'gpu' | 'cpu' | 'dram' | 'other';

export interface DeviceInfo {
  /** Stable within a run, e.g. `gpu0`, `cpu-package-0`. */
  id: string;
  kind: DeviceKind;
  name: string;
  uuid?: string;
  index?: number;
}

export interface ProbeResult {
  available: boolean;
  /** Why not, in words a user understands. */
  reason?: string;
  fix?: string;
  devices: DeviceInfo[];
  /** Per-device notes, e.g. `counter unsupported: falling back to power polling`. */
  notes?: string[];
}

/** One timestamped reading of one device. Counters are cumulative millijoules. */
export interface EnergyReading {
  tMonoNs: bigint;
  energyMj?: number;
  powerW?: number;
  temperatureC?: number;
  smClockMhz?: number;
  throttleReasons?: number;
  memoryUsedBytes?: number;
  utilisationPct?: number;
}

export interface DeviceTrace {
  device: DeviceInfo;
  /** `counter`: energyMj is authoritative; `power`: integrate powerW; `estimate`: modelled. */
  source: 'counter' | 'power' | 'estimate';
  readings: EnergyReading[];
}

export interface SamplerTrace {
  sampler: string;
  intervalMs: number;
  devices: DeviceTrace[];
}

/** One energy source (NVML, RAPL, CPU estimate). Implementations: @llem/energy. */
export interface EnergySampler {
  readonly name: string;
  readonly estimated: boolean;
  probe(): Promise<ProbeResult>;
  start(): Promise<void>;
  stop(): Promise<SamplerTrace>;
}

export interface MeasurementWindowNs {
  startNs: bigint;
  endNs: bigint;
}

/** Energy since the meter started, for live progress: measured and estimated kept apart. */
export interface LiveEnergyJ {
  measuredJ: number;
  estimatedJ: number;
  /**
   * Joules so far of each measured device counted in `measuredJ`, by device id: with the idle
   * baseline's power per device, the live view subtracts idle power as the result will.
   */
  measuredByDevice?: Record<string, number>;
}

/**
 * Runs samplers around a workload and integrates energy over its measurement window.
 * Implementations: @llem/energy's `SamplingEnergyMeter`.
 */
export interface EnergyMeter {
  probe(): Promise<ProbeResult[]>;
  /** Idle power per device, measured or from a fresh cache. */
  baseline(options: { durationS: number; ttlS: number; signal?: AbortSignal }): Promise<BaselineInfo | null>;
  start(): Promise<void>;
  stop(): Promise<SamplerTrace[]>;
  integrate(
    traces: readonly SamplerTrace[],
    window: MeasurementWindowNs,
    baseline: BaselineInfo | null,
  ): EnergyMeasurement;
  /** Current GPU temperatures, for cool-down gaps between experiments. */
  temperatures?(): Promise<Record<string, number>>;
  /**
   * The workload's root pid(s) for the run started last (host pid namespace): they and their
   * descendants are the workload; other compute processes on a measured GPU during the window are
   * flagged in the quality block. Call after start(); not calling it means "unknown".
   */
  setWorkloadPids?(pids: readonly number[]): void;
  /** Energy since start() so far (cheap: incremental); null when not running. */
  liveEnergyJ?(): LiveEnergyJ | null;
}

/**
 * Energy meters per experiment: each experiment is measured with a meter built from its own
 * `energy` section and GPU set, and the same meter serves the next experiment while those are
 * unchanged (its idle baseline cache and probes are kept). Implementation: @llem/energy's
 * `createEnergyMeterFactory`. Where meters live is the executor's business: in this process for
 * `local`, on each job's node for `slurm`.
 */
export interface EnergyMeterFactory {
  /** The meter for this experiment, or null when it does not measure energy. */
  meterFor(config: Pick<ExperimentConfigBase, 'energy' | 'gpus'>): EnergyMeter | null;
  /** Current GPU temperatures (for cool-down gaps), from any meter this factory made or a fresh probe. */
  temperatures?(): Promise<Record<string, number>>;
  /** Releases every meter it made (samplers stopped, NVML shut down). */
  close?(): Promise<void>;
  /** What can be measured here (`llem doctor`): one check per energy source. */
  doctor?(): Promise<DoctorCheck[]>;
}
