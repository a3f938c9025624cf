/** NVML sampler: per-GPU energy counter (Volta+) or power polling, plus temperature, clocks, memory. */
import { type EnergyReading, messageOf, type ProbeResult } from '@llem/core';
import { PollingSampler, type PollingSamplerOptions } from '../polling-sampler.js';
import { relatedPids } from '../process-tree.js';
import type { EnergyDeviceInfo, EnergyDeviceTrace, GpuProcessSample } from '../types.js';
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
  /**
   * Compute processes on each GPU are listed at most this often (default 500 ms): enough to see
   * another job sharing the GPU, without an FFI call and /proc reads per process every tick.
   */
  processIntervalMs?: number;
  /** Where process ancestry is read; default /proc. */
  procRoot?: string;
  env?: NodeJS.ProcessEnv;
}

interface NvmlDevice {
  info: EnergyDeviceInfo;
  handle: NvmlHandle;
  source: 'counter' | 'power';
  processes: GpuProcessSample[];
  /** Set once listing failed for good on this GPU (function missing, NOT_SUPPORTED). */
  processesUnavailable?: string;
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
  private readonly processEvery: number;
  private ticks = 0;

  constructor(private readonly options: NvmlSamplerOptions = {}) {
    super('NVML sampler', options);
    const env = options.env ?? process.env;
    this.libraryPath = options.libraryPath || env.LLEM_NVML_LIBRARY || DEFAULT_NVML_LIBRARY;
    this.auxEvery = Math.max(1, Math.round((options.auxIntervalMs ?? 100) / this.intervalMs));
    this.processEvery = Math.max(1, Math.round((options.processIntervalMs ?? 500) / this.intervalMs));
  }

  async probe(): Promise<ProbeResult> {
    if (this.probed) return this.probed;
    try {
      this.probed = this.discover();
    } catch (error) {
      this.devices = [];
      this.probed = this.unavailable(`probing failed: ${messageOf(error)}.`, INSTALL_FIX);
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
      return this.unavailable(`cannot load ${this.libraryPath} (${messageOf(error)}).`, INSTALL_FIX);
    }
    try {
      this.lib.init();
    } catch (error) {
      const code = error instanceof NvmlCallError ? error.code : -1;
      return this.unavailable(
        `nvmlInit failed: ${messageOf(error)}.`,
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
      this.devices.push({ info, handle, source, processes: [] });
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
    for (const d of this.devices) {
      d.processes = [];
      d.processesUnavailable = undefined;
    }
  }

  liveTraces(): EnergyDeviceTrace[] {
    return this.devices.map((d) => ({
      device: d.info,
      source: d.source,
      readings: this.readings.get(d.info.id) ?? [],
      processes: {
        intervalMs: this.processEvery * this.intervalMs,
        samples: d.processes,
        ...(d.processesUnavailable ? { unavailable: d.processesUnavailable } : {}),
      },
    }));
  }

  override async stop() {
    // The final reading stop() takes lists processes too, so a window that ends now is covered.
    this.finalTick = true;
    try {
      return await super.stop();
    } finally {
      this.finalTick = false;
    }
  }

  private finalTick = false;

  /** Lists the compute processes on a GPU; a GPU or driver that cannot is noted once and skipped. */
  private listProcesses(lib: NvmlLibrary, d: NvmlDevice): void {
    if (d.processesUnavailable) return;
    let listed: ReturnType<NvmlLibrary['computeProcesses']>;
    try {
      listed = lib.computeProcesses(d.handle);
    } catch (error) {
      if (error instanceof NvmlCallError && error.code === NVML_ERROR_NOT_SUPPORTED) {
        d.processesUnavailable = `${error.fn}: ${error.description}`;
      }
      return; // a transient failure: try again next time
    }
    const tMonoNs = this.clock.monotonicNs();
    for (const p of listed) {
      const { pids, visible } = relatedPids(p.pid, this.options.procRoot);
      d.processes.push({ tMonoNs, pid: p.pid, usedMemoryBytes: p.usedMemoryBytes, related: pids, visible });
    }
  }

  /** Takes one reading of every device now, between timer ticks (while started). */
  sampleNow(): void {
    if (this.running) this.tick();
  }

  /** One reading per device; a field NVML refuses is left out, never reported as 0. */
  protected tick(): void {
    const lib = this.lib;
    if (!lib) return;
    const tick = this.ticks++;
    const aux = tick % this.auxEvery === 0;
    const processes = tick % this.processEvery === 0 || this.finalTick;
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
      if (processes) this.listProcesses(lib, d);
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
