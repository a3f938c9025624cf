/**
 * The NVML binding: koffi FFI calls into libnvidia-ml.so.1. Only this module touches koffi, so the
 * rest of the package sees plain numbers and `NvmlCallError`s.
 */
import koffi from 'koffi';

export const NVML_SUCCESS = 0;
export const NVML_ERROR_NOT_SUPPORTED = 3;
export const NVML_ERROR_INSUFFICIENT_SIZE = 7;
export const NVML_ERROR_DRIVER_NOT_LOADED = 9;
/** usedGpuMemory when NVML cannot tell (no permission, some container setups). */
const NVML_VALUE_NOT_AVAILABLE = 0xffff_ffff_ffff_ffffn;
/**
 * Compute-process listers, newest first, with their struct size: `_v3` and `_v2` fill
 * nvmlProcessInfo_v2_t {pid u32, usedGpuMemory u64, gpuInstanceId u32, computeInstanceId u32} (24
 * bytes); the unversioned one fills nvmlProcessInfo_v1_t {pid u32, usedGpuMemory u64} (16 bytes).
 */
const PROCESS_LISTERS = [
  { fn: 'nvmlDeviceGetComputeRunningProcesses_v3', stride: 24 },
  { fn: 'nvmlDeviceGetComputeRunningProcesses_v2', stride: 24 },
  { fn: 'nvmlDeviceGetComputeRunningProcesses', stride: 16 },
] as const;
const PROCESS_BUFFER_START = 8;
const PROCESS_BUFFER_TRIES = 4;
const NVML_TEMPERATURE_GPU = 0;
const NVML_CLOCK_SM = 1;
const NAME_BUFFER = 96;

/** Default soname; overridable by option or LLEM_NVML_LIBRARY. */
export const DEFAULT_NVML_LIBRARY = 'libnvidia-ml.so.1';

export class NvmlCallError extends Error {
  constructor(
    readonly fn: string,
    readonly code: number,
    readonly description: string,
  ) {
    super(`${fn} failed: ${description} (NVML error ${code})`);
    this.name = 'NvmlCallError';
  }
}

/** An opaque device handle. */
export type NvmlHandle = unknown;

/** A compute process on a GPU, as NVML lists it (pid in NVML's pid namespace: the host's). */
export interface NvmlProcess {
  pid: number;
  /** null when NVML does not know (NVML_VALUE_NOT_AVAILABLE). */
  usedMemoryBytes: number | null;
}

export interface NvmlMemory {
  totalBytes: number;
  usedBytes: number;
}

// One koffi type registry per process: declare the types once.
let typesDeclared = false;
function declareTypes(): void {
  if (typesDeclared) return;
  koffi.pointer('nvmlDevice_t', koffi.opaque('nvmlDevice_st'));
  koffi.struct('nvmlMemory_t', {
    total: 'unsigned long long',
    free: 'unsigned long long',
    used: 'unsigned long long',
  });
  koffi.struct('nvmlUtilization_t', { gpu: 'unsigned int', memory: 'unsigned int' });
  typesDeclared = true;
}

type Fn = (...args: unknown[]) => number;

/** The subset of NVML llem uses, bound to one loaded library. */
export class NvmlLibrary {
  private readonly lib: ReturnType<typeof koffi.load>;
  private readonly fns: Record<string, Fn> = {};
  private readonly errorString: ((code: number) => string) | null;
  private readonly clockReasonsFn: string | null;
  private readonly processLister: (typeof PROCESS_LISTERS)[number] | null;

  private constructor(readonly path: string) {
    declareTypes();
    this.lib = koffi.load(path);
    const required = [
      'int nvmlInit_v2()',
      'int nvmlShutdown()',
      'int nvmlDeviceGetCount_v2(_Out_ unsigned int *count)',
      'int nvmlDeviceGetHandleByIndex_v2(unsigned int index, _Out_ nvmlDevice_t *device)',
      'int nvmlDeviceGetName(nvmlDevice_t device, _Out_ uint8_t *name, unsigned int length)',
      'int nvmlDeviceGetPowerUsage(nvmlDevice_t device, _Out_ unsigned int *power)',
    ];
    for (const decl of required) this.bind(decl, true);
    const optional = [
      'int nvmlDeviceGetUUID(nvmlDevice_t device, _Out_ uint8_t *uuid, unsigned int length)',
      'int nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, _Out_ unsigned long long *energy)',
      'int nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, _Out_ unsigned int *temp)',
      'int nvmlDeviceGetClockInfo(nvmlDevice_t device, int type, _Out_ unsigned int *clock)',
      'int nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t device, _Out_ unsigned long long *reasons)',
      'int nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t device, _Out_ unsigned long long *reasons)',
      'int nvmlDeviceGetMemoryInfo(nvmlDevice_t device, _Out_ nvmlMemory_t *memory)',
      'int nvmlDeviceGetUtilizationRates(nvmlDevice_t device, _Out_ nvmlUtilization_t *utilization)',
      'int nvmlDeviceGetMigMode(nvmlDevice_t device, _Out_ unsigned int *current, _Out_ unsigned int *pending)',
    ];
    for (const decl of optional) this.bind(decl, false);
    for (const { fn } of PROCESS_LISTERS)
      this.bind(`int ${fn}(nvmlDevice_t device, _Inout_ unsigned int *infoCount, void *infos)`, false);
    // Older drivers lack _v3 (and _v2); their struct is the shorter v1 layout.
    this.processLister = PROCESS_LISTERS.find((l) => this.fns[l.fn] !== undefined) ?? null;
    let errorString: ((code: number) => string) | null = null;
    try {
      errorString = this.lib.func('const char *nvmlErrorString(int result)') as (code: number) => string;
    } catch {
      errorString = null;
    }
    this.errorString = errorString;
    // Drivers >= 535 renamed ThrottleReasons to ClocksEventReasons; older ones only have the old name.
    this.clockReasonsFn = this.fns.nvmlDeviceGetCurrentClocksEventReasons
      ? 'nvmlDeviceGetCurrentClocksEventReasons'
      : this.fns.nvmlDeviceGetCurrentClocksThrottleReasons
        ? 'nvmlDeviceGetCurrentClocksThrottleReasons'
        : null;
  }

  /** Loads the library; throws the loader's error (file missing, wrong ELF, missing symbol). */
  static open(path: string = DEFAULT_NVML_LIBRARY): NvmlLibrary {
    return new NvmlLibrary(path);
  }

  private bind(decl: string, required: boolean): void {
    const name = /\b(nvml\w+)\(/.exec(decl)?.[1] ?? decl;
    try {
      this.fns[name] = this.lib.func(decl) as Fn;
    } catch (error) {
      if (required) throw error;
    }
  }

  has(fn: string): boolean {
    return this.fns[fn] !== undefined;
  }

  describe(code: number): string {
    try {
      return this.errorString?.(code) ?? `error ${code}`;
    } catch {
      return `error ${code}`;
    }
  }

  private call(fn: string, ...args: unknown[]): void {
    const f = this.fns[fn];
    if (!f) throw new NvmlCallError(fn, NVML_ERROR_NOT_SUPPORTED, 'function not exported by this driver');
    const rc = f(...args);
    if (rc !== NVML_SUCCESS) throw new NvmlCallError(fn, rc, this.describe(rc));
  }

  init(): void {
    this.call('nvmlInit_v2');
  }

  shutdown(): void {
    this.call('nvmlShutdown');
  }

  /** Unmaps the library (after shutdown). */
  unload(): void {
    this.lib.unload();
  }

  deviceCount(): number {
    const out = [0];
    this.call('nvmlDeviceGetCount_v2', out);
    return out[0] ?? 0;
  }

  handle(index: number): NvmlHandle {
    const out: unknown[] = [null];
    this.call('nvmlDeviceGetHandleByIndex_v2', index, out);
    return out[0];
  }

  private string(fn: string, handle: NvmlHandle): string {
    const buf = Buffer.alloc(NAME_BUFFER);
    this.call(fn, handle, buf, NAME_BUFFER);
    const end = buf.indexOf(0);
    return buf.toString('utf8', 0, end < 0 ? NAME_BUFFER : end);
  }

  name(handle: NvmlHandle): string {
    return this.string('nvmlDeviceGetName', handle);
  }

  uuid(handle: NvmlHandle): string {
    return this.string('nvmlDeviceGetUUID', handle);
  }

  /** Cumulative energy since the driver was loaded, millijoules (Volta+). */
  totalEnergyMj(handle: NvmlHandle): number {
    const out: (bigint | number)[] = [0];
    this.call('nvmlDeviceGetTotalEnergyConsumption', handle, out);
    return Number(out[0]);
  }

  powerW(handle: NvmlHandle): number {
    const out = [0];
    this.call('nvmlDeviceGetPowerUsage', handle, out);
    return (out[0] ?? 0) / 1000;
  }

  temperatureC(handle: NvmlHandle): number {
    const out = [0];
    this.call('nvmlDeviceGetTemperature', handle, NVML_TEMPERATURE_GPU, out);
    return out[0] ?? 0;
  }

  smClockMhz(handle: NvmlHandle): number {
    const out = [0];
    this.call('nvmlDeviceGetClockInfo', handle, NVML_CLOCK_SM, out);
    return out[0] ?? 0;
  }

  clockReasons(handle: NvmlHandle): number {
    if (!this.clockReasonsFn)
      throw new NvmlCallError(
        'nvmlDeviceGetCurrentClocksEventReasons',
        NVML_ERROR_NOT_SUPPORTED,
        'not exported',
      );
    const out: (bigint | number)[] = [0];
    this.call(this.clockReasonsFn, handle, out);
    return Number(out[0]);
  }

  memory(handle: NvmlHandle): NvmlMemory {
    const out: { total: number | bigint; used: number | bigint }[] = [{ total: 0, used: 0 }];
    this.call('nvmlDeviceGetMemoryInfo', handle, out);
    const m = out[0] ?? { total: 0, used: 0 };
    return { totalBytes: Number(m.total), usedBytes: Number(m.used) };
  }

  utilisationPct(handle: NvmlHandle): number {
    const out: { gpu: number }[] = [{ gpu: 0 }];
    this.call('nvmlDeviceGetUtilizationRates', handle, out);
    return out[0]?.gpu ?? 0;
  }

  /** The name of the process-listing function this driver has, or null. */
  get processListerName(): string | null {
    return this.processLister?.fn ?? null;
  }

  /**
   * Compute processes running on the device. The list can grow between NVML's size answer and
   * the next call, so NVML_ERROR_INSUFFICIENT_SIZE is retried with the size it asks for.
   */
  computeProcesses(handle: NvmlHandle): NvmlProcess[] {
    const lister = this.processLister;
    if (!lister)
      throw new NvmlCallError(
        'nvmlDeviceGetComputeRunningProcesses',
        NVML_ERROR_NOT_SUPPORTED,
        'function not exported by this driver',
      );
    let capacity = PROCESS_BUFFER_START;
    for (let attempt = 0; attempt < PROCESS_BUFFER_TRIES; attempt++) {
      const buf = Buffer.alloc(capacity * lister.stride);
      const count = [capacity];
      const f = this.fns[lister.fn] as Fn;
      const rc = f(handle, count, buf);
      if (rc === NVML_ERROR_INSUFFICIENT_SIZE) {
        // A little slack: processes start while we allocate.
        capacity = Math.max(capacity * 2, (count[0] ?? 0) + 4);
        continue;
      }
      if (rc !== NVML_SUCCESS) throw new NvmlCallError(lister.fn, rc, this.describe(rc));
      const n = Math.min(count[0] ?? 0, capacity);
      const out: NvmlProcess[] = [];
      for (let i = 0; i < n; i++) {
        const off = i * lister.stride;
        const used = buf.readBigUInt64LE(off + 8);
        out.push({
          pid: buf.readUInt32LE(off),
          usedMemoryBytes: used === NVML_VALUE_NOT_AVAILABLE ? null : Number(used),
        });
      }
      return out;
    }
    throw new NvmlCallError(
      lister.fn,
      NVML_ERROR_INSUFFICIENT_SIZE,
      this.describe(NVML_ERROR_INSUFFICIENT_SIZE),
    );
  }

  /** True when MIG mode is enabled (current mode). */
  migEnabled(handle: NvmlHandle): boolean {
    const current = [0];
    const pending = [0];
    this.call('nvmlDeviceGetMigMode', handle, current, pending);
    return current[0] === 1;
  }
}
