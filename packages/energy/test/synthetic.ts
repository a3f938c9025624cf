/** Synthetic sampler traces whose energy is known in closed form. */
import type { EnergyReading, SamplerTrace } from '@llem/core';
import type { EnergyDeviceTrace } from '../src/types.js';

/** An arbitrary monotonic origin, far from 0, so bigint-to-seconds alignment is exercised. */
export const T0 = 987_654_321_000_000n;
export const ns = (seconds: number): bigint => T0 + BigInt(Math.round(seconds * 1e9));

export interface PowerCurve {
  power(t: number): number;
  /** Exact energy in joules over [a, b]. */
  energy(a: number, b: number): number;
}

export const constant = (w: number): PowerCurve => ({ power: () => w, energy: (a, b) => w * (b - a) });
export const ramp = (p0: number, slope: number): PowerCurve => ({
  power: (t) => p0 + slope * t,
  energy: (a, b) => p0 * (b - a) + (slope / 2) * (b * b - a * a),
});
export const sine = (mean: number, amp: number, periodS: number): PowerCurve => {
  const w = (2 * Math.PI) / periodS;
  return {
    power: (t) => mean + amp * Math.sin(w * t),
    energy: (a, b) => mean * (b - a) - (amp / w) * (Math.cos(w * b) - Math.cos(w * a)),
  };
};

/** Readings every `stepS` over [from, to]: power, and an exact cumulative counter (mJ) from `from`. */
export function sampleCurve(
  curve: PowerCurve,
  from: number,
  to: number,
  stepS: number,
  counterOffsetMj = 5_000_000,
): EnergyReading[] {
  const out: EnergyReading[] = [];
  const n = Math.round((to - from) / stepS);
  for (let i = 0; i <= n; i++) {
    const t = from + i * stepS;
    out.push({
      tMonoNs: ns(t),
      powerW: curve.power(t),
      energyMj: counterOffsetMj + curve.energy(from, t) * 1000,
    });
  }
  return out;
}

export function trace(
  devices: Partial<EnergyDeviceTrace>[],
  intervalMs = 100,
  sampler = 'synthetic',
): SamplerTrace {
  return {
    sampler,
    intervalMs,
    devices: devices.map((d, i) => ({
      device: d.device ?? { id: `gpu${i}`, kind: 'gpu', name: 'Synthetic GPU', index: i },
      source: d.source ?? 'counter',
      readings: d.readings ?? [],
      ...(d.counterRangeMj !== undefined ? { counterRangeMj: d.counterRangeMj } : {}),
    })),
  };
}
