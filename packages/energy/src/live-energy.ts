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

export class LiveEnergy {
  private readonly devices = new Map<string, DeviceState>();

  update(traces: readonly EnergyDeviceTrace[]): LiveEnergyJ {
    let measuredJ = 0;
    let estimatedJ = 0;
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
      if (dt.source === 'estimate') estimatedJ += state.joules;
      else measuredJ += state.joules;
    }
    return { measuredJ, estimatedJ };
  }
}
