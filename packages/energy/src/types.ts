import type { DeviceInfo, DeviceTrace } from '@llem/core';

/**
 * @llem/energy's additions to core's device and trace records. They are optional and ride along
 * in the same objects, so a SamplerTrace from here is still a core SamplerTrace.
 */
export interface EnergyDeviceInfo extends DeviceInfo {
  /** Id of a device whose energy already includes this one (RAPL core/uncore are inside package). */
  partOf?: string;
}

export interface EnergyDeviceTrace extends DeviceTrace {
  device: EnergyDeviceInfo;
  /** The counter wraps to 0 after this many millijoules (RAPL max_energy_range_uj / 1000). */
  counterRangeMj?: number;
  /** The readings come from a simulated device (energy source `simulated`, never `counter`). */
  simulated?: boolean;
  /** GPUs: the compute processes seen on it during sampling (NVML only). */
  processes?: GpuProcessTrace;
}

/** One compute process seen on a GPU at one process poll. */
export interface GpuProcessSample {
  tMonoNs: bigint;
  pid: number;
  usedMemoryBytes: number | null;
  /**
   * The pid, its ancestors, its process group and session, read from /proc when it was seen; a
   * process is the workload's when one of them is a workload pid. Just `[pid]` when /proc did not
   * show it (another pid namespace, or it had exited): then `visible` is false.
   */
  related: number[];
  visible: boolean;
}

export interface GpuProcessTrace {
  /** Processes are listed at most this often (slower than energy: the call is heavier). */
  intervalMs: number;
  samples: GpuProcessSample[];
  /** Why processes could not be listed on this GPU (function missing, NOT_SUPPORTED); then no samples. */
  unavailable?: string;
}
