import type { SimulatedGpuProfileName } from '@llem/core';

/**
 * The sensor parameters of each simulated GPU. These are documented assumptions, taken from
 * published characterisations of NVML on these boards (energy counter refreshed about every
 * 100 ms; the power reading a 1 s moving average on Ampere and later; on A100 and H100 the sensor
 * samples only ~25 ms of each 100 ms, "part-time" power measurement), and from the boards' spec
 * sheets (TDP) and typical idle draw. They are not measurements of any real board.
 */
export interface SimulatedGpuProfile {
  /** Marketing name, shown as the device name (with "simulated"). */
  name: string;
  tdpW: number;
  idleW: number;
  /** The energy counter changes once per this many ms. */
  updatePeriodMs: number;
  /** The power reading is the mean over this many ms of what the sensor observed. */
  averagingWindowMs: number;
  /** The fraction of each update period the sensor samples (1: all of it). */
  observedFraction: number;
  memoryBytes: number;
}

export const SIMULATED_PROFILES: Readonly<Record<SimulatedGpuProfileName, SimulatedGpuProfile>> = {
  a100: {
    name: 'NVIDIA A100-SXM4-80GB',
    tdpW: 400,
    idleW: 55,
    updatePeriodMs: 100,
    averagingWindowMs: 1000,
    observedFraction: 0.25,
    memoryBytes: 80 * 2 ** 30,
  },
  h100: {
    name: 'NVIDIA H100 80GB HBM3',
    tdpW: 700,
    idleW: 70,
    updatePeriodMs: 100,
    averagingWindowMs: 1000,
    observedFraction: 0.25,
    memoryBytes: 80 * 2 ** 30,
  },
  h200: {
    name: 'NVIDIA H200',
    tdpW: 700,
    idleW: 75,
    updatePeriodMs: 100,
    averagingWindowMs: 1000,
    observedFraction: 1,
    memoryBytes: 141 * 2 ** 30,
  },
  l4: {
    name: 'NVIDIA L4',
    tdpW: 72,
    idleW: 16,
    updatePeriodMs: 100,
    averagingWindowMs: 1000,
    observedFraction: 1,
    memoryBytes: 24 * 2 ** 30,
  },
};
