import { describe, expect, it } from 'vitest';
import { integrateTraces } from '../src/measure.js';
import {
  energyUncertainty,
  measuredUpdatePeriodS,
  robustSpread,
  spread,
  sumUncertainty,
} from '../src/uncertainty.js';
import { constant, ns, trace } from './synthetic.js';

/** A counter that steps every `periodS` (whole steps of `w` x period), read every `readS`, over [0, to]. */
function steppedCounter(w: number, periodS: number, readS: number, to: number) {
  const readings = [];
  for (let i = 0; i * readS <= to + 1e-9; i++) {
    const t = i * readS;
    const steps = Math.floor(t / periodS + 1e-9);
    readings.push({ tMonoNs: ns(t), energyMj: 1_000_000 + steps * w * periodS * 1000, powerW: w });
  }
  return readings;
}

describe('energy uncertainty, term by term', () => {
  it('granularity is the update period x the peak power', () => {
    const u = energyUncertainty({
      energyJ: 1000,
      updatePeriodS: 0.1,
      peakPowerW: 400,
      sensorErrorPct: 0,
      baselineSpreadW: null,
      windowS: 10,
    });
    expect(u.granularity_j).toBe(40);
    expect(u.total_j).toBe(40);
    expect(u.relative_pct).toBe(4);
  });

  it('the systematic term is sensor_error_pct of the figure', () => {
    const u = energyUncertainty({
      energyJ: 2000,
      updatePeriodS: null,
      peakPowerW: null,
      sensorErrorPct: 5,
      baselineSpreadW: null,
      windowS: 10,
    });
    expect(u.systematic_j).toBe(100);
    expect(u.granularity_j).toBeNull();
    expect(u.total_j).toBe(100);
  });

  it("the baseline's term is the idle-power spread x the window", () => {
    const u = energyUncertainty({
      energyJ: 500,
      updatePeriodS: null,
      peakPowerW: null,
      sensorErrorPct: 0,
      baselineSpreadW: 0.5,
      windowS: 30,
    });
    expect(u.baseline_j).toBe(15);
  });

  it('terms combine in quadrature, and boards in quadrature term by term', () => {
    const u = energyUncertainty({
      energyJ: 1000,
      updatePeriodS: 0.1,
      peakPowerW: 300,
      sensorErrorPct: 4,
      baselineSpreadW: 0,
      windowS: 10,
    });
    expect(u.total_j).toBeCloseTo(Math.sqrt(30 ** 2 + 40 ** 2), 9); // 50
    const total = sumUncertainty([u, u], 2000);
    expect(total.granularity_j).toBeCloseTo(30 * Math.SQRT2, 6);
    expect(total.systematic_j).toBeCloseTo(40 * Math.SQRT2, 6);
    expect(total.total_j).toBeCloseTo(50 * Math.SQRT2, 6);
    expect(total.relative_pct).toBeCloseTo((50 * Math.SQRT2 * 100) / 2000, 3);
  });

  it('measures the update period from the readings, read faster or slower than it updates', () => {
    const fast = steppedCounter(200, 0.1, 0.01, 5).map((r) => ({
      t: Number(r.tMonoNs - ns(0)) / 1e9,
      v: r.energyMj,
    }));
    expect(measuredUpdatePeriodS(fast)).toBeCloseTo(0.1, 6);
    const slow = steppedCounter(200, 0.1, 0.25, 5).map((r) => ({
      t: Number(r.tMonoNs - ns(0)) / 1e9,
      v: r.energyMj,
    }));
    expect(measuredUpdatePeriodS(slow)).toBeCloseTo(0.25, 6);
    expect(
      measuredUpdatePeriodS([
        { t: 0, v: 1 },
        { t: 1, v: 2 },
      ]),
    ).toBeNull();
  });

  it('population spread, and a robust one that an outlier does not move', () => {
    expect(spread([1, 3])).toBe(1);
    expect(spread([5])).toBe(0);
    // median 10, absolute deviations [1, 0, 1, 0, 90] -> MAD 1
    expect(robustSpread([9, 10, 11, 10, 100])).toBeCloseTo(1.4826, 9);
    expect(robustSpread([7])).toBe(0);
  });
});

describe('integration attaches the uncertainty per device and to the total', () => {
  it('a 200 W counter stepping every 100 ms over 10 s, with a 50 W baseline of 0.5 W spread', () => {
    const readings = steppedCounter(200, 0.1, 0.01, 10.5);
    const baseline = {
      taken_at_utc: '2026-01-01T00:00:00Z',
      duration_s: 30,
      from_cache: false,
      age_s: 0,
      power_w: { gpu0: 50, gpu1: 50 },
      power_spread_w: { gpu0: 0.5, gpu1: 0.5 },
    };
    const m = integrateTraces(
      [trace([{ readings }, { readings }])],
      { startNs: ns(0), endNs: ns(10) },
      baseline,
      { min_window_seconds: 5, max_disagreement_pct: 10, quality_policy: 'warn', sensor_error_pct: 5 },
    );
    const u = m.devices[0]?.uncertainty;
    expect(m.devices[0]?.adjusted_j).toBeCloseTo(1500, 6);
    expect(u?.update_period_s).toBeCloseTo(0.1, 6);
    expect(u?.granularity_j).toBeCloseTo(0.1 * 200, 6);
    expect(u?.systematic_j).toBeCloseTo(0.05 * 1500, 6);
    expect(u?.baseline_j).toBeCloseTo(0.5 * 10, 6);
    expect(u?.total_j).toBeCloseTo(Math.sqrt(20 ** 2 + 75 ** 2 + 5 ** 2), 5);
    const total = m.total.uncertainty;
    expect(total?.total_j).toBeCloseTo(Math.SQRT2 * Math.sqrt(20 ** 2 + 75 ** 2 + 5 ** 2), 5);
    expect(total?.relative_pct).toBeCloseTo(
      ((Math.SQRT2 * Math.sqrt(20 ** 2 + 75 ** 2 + 5 ** 2)) / 3000) * 100,
      2,
    );
  });

  it('estimates carry no sensor uncertainty', () => {
    const readings = [0, 1, 2].map((t) => ({ tMonoNs: ns(t), powerW: constant(10).power(t) }));
    const m = integrateTraces(
      [trace([{ readings, source: 'estimate' }])],
      { startNs: ns(0), endNs: ns(2) },
      null,
    );
    expect(m.devices[0]?.uncertainty).toBeUndefined();
    expect(m.total.uncertainty).toBeUndefined();
  });
});
