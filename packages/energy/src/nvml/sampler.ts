/** NVML sampler: per-GPU energy counter (Volta+) or power polling, plus temperature, clocks, memory. */
import type { EnergyReading, ProbeResult } from '@llem/core';
import { PollingSampler, type PollingSamplerOptions } from '../polling-sampler.js';
import type { EnergyDeviceInfo, EnergyDeviceTrace } from '../types.js';
import {
  DEFAULT_NVML_LIBRARY,
  NVML_ERROR_DRIVER_NOT_LOADED,
  NVML_ERROR_NOT_SUPPORTED,
  NvmlCallError,
  type NvmlHandle,
  NvmlLibrary,
} from './library.js';

export interface NvmlSamplerOptions extends PollingSamplerOptions {
  /** Path of libnvidia-ml.so.1; default: env LLEM_NVML_LIBRARY, else the soname. */
  libraryPath?: string;
  /** GPU indices to measure; default: all. */
  devices?: readonly number[];
  /**
   * Temperature, clocks, throttle reasons, memory and utilisation are read at most this often
   * (default 100 ms), so a 10 ms energy/power interval does not multiply the FFI calls per second.
   */
  auxIntervalMs?: number;
  env?: NodeJS.ProcessEnv;
}

interface NvmlDevice {
  info: EnergyDeviceInfo;
  handle: NvmlHandle;
  source: 'counter' | 'power';
}

const INSTALL_FIX =
  'Install the NVIDIA driver (it ships libnvidia-ml.so.1), or point LLEM_NVML_LIBRARY (or the nvmlLibrary option) at the library.';

export class NvmlSampler extends PollingSampler {
  readonly name = 'nvml';
  readonly estimated = false;
  private readonly libraryPath: string;
  private lib: NvmlLibrary | null = null;
  private probed: ProbeResult | null = null;
  private devices: NvmlDevice[] = [];
  private readings = new Map<string, EnergyReading[]>();
  private readonly auxEvery: number;
  private ticks = 0;

  constructor(private readonly options: NvmlSamplerOptions = {}) {
    super('NVML sampler', options);
    const env = options.env ?? process.env;
    this.libraryPath = options.libraryPath || env.LLEM_NVML_LIBRARY || DEFAULT_NVML_LIBRARY;
    this.auxEvery = Math.max(1, Math.round((options.auxIntervalMs ?? 100) / this.intervalMs));
  }

  async probe(): Promise<ProbeResult> {
    if (this.probed) return this.probed;
    try {
      this.probed = this.discover();
    } catch (error) {
      this.devices = [];
      this.probed = this.unavailable(`probing failed: ${(error as Error).message}.`, INSTALL_FIX);
    }
    return this.probed;
  }

  private unavailable(reason: string, fix: string, notes: string[] = []): ProbeResult {
    return { available: false, reason: `NVML: ${reason}`, fix, devices: [], notes };
  }

  private discover(): ProbeResult {
    try {
      this.lib = NvmlLibrary.open(this.libraryPath);
    } catch (error) {
      return this.unavailable(`cannot load ${this.libraryPath} (${(error as Error).message}).`, INSTALL_FIX);
    }
    try {
      this.lib.init();
    } catch (error) {
      const code = error instanceof NvmlCallError ? error.code : -1;
      return this.unavailable(
        `nvmlInit failed: ${(error as Error).message}.`,
        code === NVML_ERROR_DRIVER_NOT_LOADED
          ? 'Load the NVIDIA kernel driver (check `nvidia-smi`).'
          : INSTALL_FIX,
      );
    }
    const count = this.lib.deviceCount();
    if (count === 0)
      return this.unavailable(
        'no NVIDIA GPU found (nvmlDeviceGetCount = 0).',
        'Run on a machine with an NVIDIA GPU, or pick another energy sampler.',
      );
    const wanted = this.options.devices ?? Array.from({ length: count }, (_, i) => i);
    const notes: string[] = [];
    const bad = wanted.filter((i) => !Number.isInteger(i) || i < 0 || i >= count);
    if (bad.length) {
      return this.unavailable(
        `GPU index ${bad.join(', ')} does not exist (this machine has ${count}: 0-${count - 1}).`,
        'Fix the device selection.',
      );
    }
    for (const index of wanted) {
      const lib = this.lib;
      const handle = lib.handle(index);
      const id = `gpu${index}`;
      const name = lib.name(handle);
      const info: EnergyDeviceInfo = { id, kind: 'gpu', name, index };
      try {
        info.uuid = lib.uuid(handle);
      } catch {
        // UUID is provenance only.
      }
      if (this.migEnabled(handle)) {
        notes.push(
          `${id} (${name}): MIG mode is enabled; NVML reports energy and power for the whole GPU, not per MIG instance, so it is not measured. Disable MIG (nvidia-smi -i ${index} -mig 0) to measure it.`,
        );
        continue;
      }
      let source: 'counter' | 'power' = 'counter';
      try {
        lib.totalEnergyMj(handle);
      } catch (error) {
        if (!(error instanceof NvmlCallError)) throw error;
        source = 'power';
        const why =
          error.code === NVML_ERROR_NOT_SUPPORTED
            ? 'energy counter unsupported on this GPU (NVML_ERROR_NOT_SUPPORTED; it needs Volta or newer)'
            : `energy counter unreadable (${error.message})`;
        notes.push(`${id} (${name}): ${why}: falling back to power polling.`);
      }
      this.devices.push({ info, handle, source });
    }
    if (this.devices.length === 0)
      return this.unavailable('no selected GPU can be measured.', 'See the notes for each GPU.', notes);
    return { available: true, devices: this.devices.map((d) => d.info), notes };
  }

  private migEnabled(handle: NvmlHandle): boolean {
    try {
      return this.lib?.migEnabled(handle) ?? false;
    } catch {
      return false; // NOT_SUPPORTED on GPUs without MIG.
    }
  }

  protected beginReadings(): void {
    this.ticks = 0;
    this.readings = new Map(this.devices.map((d) => [d.info.id, []]));
  }

  protected takeTraces(): EnergyDeviceTrace[] {
    const devices: EnergyDeviceTrace[] = this.devices.map((d) => ({
      device: d.info,
      source: d.source,
      readings: this.readings.get(d.info.id) ?? [],
    }));
    this.readings = new Map();
    return devices;
  }

  /** Takes one reading of every device now, between timer ticks (while started). */
  sampleNow(): void {
    if (this.running) this.tick();
  }

  /** One reading per device; a field NVML refuses is left out, never reported as 0. */
  protected tick(): void {
    const lib = this.lib;
    if (!lib) return;
    const aux = this.ticks++ % this.auxEvery === 0;
    for (const d of this.devices) {
      const r: Partial<EnergyReading> = {};
      const h = d.handle;
      if (d.source === 'counter') attempt(() => (r.energyMj = lib.totalEnergyMj(h)));
      attempt(() => (r.powerW = lib.powerW(h)));
      const tMonoNs = this.clock.monotonicNs();
      if (aux) {
        attempt(() => (r.temperatureC = lib.temperatureC(h)));
        attempt(() => (r.smClockMhz = lib.smClockMhz(h)));
        attempt(() => (r.throttleReasons = lib.clockReasons(h)));
        attempt(() => (r.memoryUsedBytes = lib.memory(h).usedBytes));
        attempt(() => (r.utilisationPct = lib.utilisationPct(h)));
      }
      this.readings.get(d.info.id)?.push({ tMonoNs, ...r });
    }
  }

  /** Current GPU temperatures, keyed by device id (for cool-down gaps). */
  async temperatures(): Promise<Record<string, number>> {
    const probe = await this.probe();
    const out: Record<string, number> = {};
    if (!probe.available || !this.lib) return out;
    for (const d of this.devices) {
      const lib = this.lib;
      attempt(() => (out[d.info.id] = lib.temperatureC(d.handle)));
    }
    return out;
  }

  /** Shuts NVML down and unloads the library. */
  close(): void {
    this.stopLoop();
    if (this.lib) {
      attempt(() => this.lib?.shutdown());
      this.lib = null;
    }
    this.probed = null;
    this.devices = [];
  }
}

function attempt(fn: () => unknown): void {
  try {
    fn();
  } catch {
    // A field this GPU or driver does not offer.
  }
}

export { DEFAULT_NVML_LIBRARY };
