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
}
