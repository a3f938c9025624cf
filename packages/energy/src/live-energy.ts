/**
 * A running "joules so far" over the readings a meter's samplers have collected since start, for
 * live progress. Incremental: it remembers how far it has read into each device's readings array
 * (samplers only append to it), so each update costs the readings added since the last one.
 * Same rules as integrateTraces over [first reading, last reading]: counter deltas (wraps
 * corrected, regressions worth 0), trapezoid over power, estimates kept apart, and devices inside
 * another (RAPL core/uncore) left out.
 */
import type { LiveEnergyJ } from '@llem/core';
import { counterStep } from './integrate.js';
import type { EnergyDeviceTrace } from './types.js';

interface DeviceState {
  readings: readonly unknown[];
  consumed: number;
  lastCounterMj: number | null;
  lastPower: { tNs: bigint; w: number } | null;
  joules: number;
}

/** Longest stretch a power source's last reading is held for (a stalled sampler is not extrapolated). */
const HOLD_LAST_POWER_MAX_NS = 2_000_000_000n;

export class LiveEnergy {
  private readonly devices = new Map<string, DeviceState>();

  /**
   * Joules so far. With `nowNs` (the readings' monotonic clock), a power source's last reading is
   * held up to now (at most 2 s), so the figure does not lag a sample interval behind: read at a
   * window's start and end, the difference is close to what the result integrates over it.
   */
  update(traces: readonly EnergyDeviceTrace[], nowNs?: bigint): LiveEnergyJ {
    let measuredJ = 0;
    let estimatedJ = 0;
    const measuredByDevice: Record<string, number> = {};
    for (const dt of traces) {
      let state = this.devices.get(dt.device.id);
      if (!state || state.readings !== dt.readings) {
        // A new readings array (a new run): start over on it.
        state = { readings: dt.readings, consumed: 0, lastCounterMj: null, lastPower: null, joules: 0 };
        this.devices.set(dt.device.id, state);
      }
      for (; state.consumed < dt.readings.length; state.consumed++) {
        const r = dt.readings[state.consumed];
        if (!r) continue;
        if (dt.source === 'counter') {
          if (typeof r.energyMj !== 'number' || !Number.isFinite(r.energyMj)) continue;
          if (state.lastCounterMj !== null)
            state.joules += counterStep(state.lastCounterMj, r.energyMj, dt.counterRangeMj).deltaMj / 1000;
          state.lastCounterMj = r.energyMj;
        } else {
          if (typeof r.powerW !== 'number' || !Number.isFinite(r.powerW)) continue;
          const last = state.lastPower;
          if (last && r.tMonoNs > last.tNs)
            state.joules += ((last.w + r.powerW) / 2) * (Number(r.tMonoNs - last.tNs) / 1e9);
          state.lastPower = { tNs: r.tMonoNs, w: r.powerW };
        }
      }
      if (dt.device.partOf) continue; // counted inside its parent
      const last = state.lastPower;
      const held =
        nowNs !== undefined && last && nowNs > last.tNs
          ? (last.w *
              Number(nowNs - last.tNs < HOLD_LAST_POWER_MAX_NS ? nowNs - last.tNs : HOLD_LAST_POWER_MAX_NS)) /
            1e9
          : 0;
      const joules = state.joules + held;
      if (dt.source === 'estimate') estimatedJ += joules;
      else {
        measuredJ += joules;
        measuredByDevice[dt.device.id] = joules;
      }
    }
    return { measuredJ, estimatedJ, measuredByDevice };
  }
}
