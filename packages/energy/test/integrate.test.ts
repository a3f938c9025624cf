import { EnergyMeasurementSchema } from '@llem/core';
import { describe, expect, it } from 'vitest';
import { counterEnergyJ, integrateLinear, unwrapCounter, valueAt } from '../src/integrate.js';
import { integrateTraces } from '../src/measure.js';
import { constant, ns, type PowerCurve, ramp, sampleCurve, sine, trace } from './synthetic.js';

const within = (actual: number, expected: number, pct: number) =>
  expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThan(pct / 100);

describe('closed-form traces (within 0.1 %)', () => {
  const cases: [string, PowerCurve][] = [
    ['constant 150 W', constant(150)],
    ['linear ramp 100 W + 10 W/s', ramp(100, 10)],
    ['sine 200 +- 50 W, 10 s period', sine(200, 50, 10)],
  ];
  for (const [name, curve] of cases) {
    it(`${name}: counter and power integral both match`, () => {
      // Samples from before the window to after it; window edges fall between samples.
      const readings = sampleCurve(curve, -1, 22, 0.1);
      const window = { startNs: ns(0.037), endNs: ns(20.063) };
      const m = integrateTraces([trace([{ readings, source: 'counter' }])], window, null);
      const expected = curve.energy(0.037, 20.063);
      const gpu = m.devices[0];
      if (!gpu) throw new Error('no device');
      expect(gpu.source).toBe('counter');
      within(gpu.energy_j, expected, 0.1);
      within(gpu.cross_check_j ?? 0, expected, 0.1);
      expect(Math.abs(gpu.disagreement_pct ?? 1)).toBeLessThan(0.1);
      expect(m.window_s).toBeCloseTo(20.026, 9);
      expect(EnergyMeasurementSchema.parse(m)).toEqual(m);

      const powered = integrateTraces(
        [trace([{ readings: readings.map(({ energyMj, ...r }) => r), source: 'power' }])],
        window,
        null,
      );
      expect(powered.devices[0]?.source).toBe('power-integral');
      within(powered.devices[0]?.energy_j ?? 0, expected, 0.1);
    });
  }
});

describe('edge interpolation', () => {
  it('counter: a window inside one sample interval gets its linear share', () => {
    const pts = [
      { t: 0, v: 0 },
      { t: 1, v: 1000 },
    ];
    expect(counterEnergyJ(pts, 0.25, 0.75)).toBeCloseTo(0.5, 12);
    expect(valueAt(pts, 0.1)).toBeCloseTo(100, 12);
  });

  it('power: trapezoid on the clipped segment uses interpolated edge values', () => {
    const pts = [
      { t: 0, v: 100 },
      { t: 1, v: 200 },
      { t: 2, v: 200 },
    ];
    // [0.5, 1]: (150 + 200) / 2 x 0.5 = 87.5; [1, 1.5]: 200 x 0.5 = 100.
    expect(integrateLinear(pts, 0.5, 1.5).integral).toBeCloseTo(187.5, 12);
  });

  it('a window larger than the samples reports only the covered part and warns', () => {
    const readings = sampleCurve(constant(100), 1, 4, 0.1);
    const m = integrateTraces([trace([{ readings }])], { startNs: ns(0), endNs: ns(5) }, null);
    expect(m.devices[0]?.energy_j).toBeCloseTo(300, 6);
    expect(m.quality.warnings.map((w) => w.code)).toContain('window_not_covered');
    expect(m.quality.ok).toBe(false);
  });
});

describe('counter wraps and regressions', () => {
  it('unwraps a counter that passes its range', () => {
    const r = unwrapCounter(
      [
        { t: 0, energyMj: 900 },
        { t: 1, energyMj: 980 },
        { t: 2, energyMj: 30 },
        { t: 3, energyMj: 80 },
      ],
      1000,
    );
    expect(r.wraps).toBe(1);
    expect(r.regressions).toBe(0);
    expect(r.points.map((p) => p.v)).toEqual([0, 80, 130, 180]);
  });

  it('counts a drop without a range (NVML driver reload) as a regression worth 0 J', () => {
    const r = unwrapCounter([
      { t: 0, energyMj: 5000 },
      { t: 1, energyMj: 6000 },
      { t: 2, energyMj: 10 },
      { t: 3, energyMj: 1010 },
    ]);
    expect(r.regressions).toBe(1);
    expect(r.points.map((p) => p.v)).toEqual([0, 1000, 1000, 2000]);
  });

  it('a drop to mid-range is a reset, not a wrap', () => {
    const r = unwrapCounter(
      [
        { t: 0, energyMj: 600 },
        { t: 1, energyMj: 100 },
      ],
      1000,
    );
    expect(r).toMatchObject({ wraps: 0, regressions: 1 });
  });

  it('integrates across a wrap and records it in the quality block', () => {
    const range = 262_143_328.85; // mJ, a real package max_energy_range_uj / 1000
    const readings = sampleCurve(constant(200), 0, 10, 0.1, range - 1000).map((r) => ({
      ...r,
      energyMj: (r.energyMj ?? 0) % range,
    }));
    const m = integrateTraces(
      [trace([{ readings, counterRangeMj: range }])],
      { startNs: ns(0), endNs: ns(10) },
      null,
    );
    within(m.devices[0]?.energy_j ?? 0, 2000, 0.001);
    expect(m.quality.counter_wraps).toBe(1);
    expect(m.quality.counter_regressions).toBe(0);
    expect(m.quality.warnings.find((w) => w.code === 'counter_wrap')?.severity).toBe('info');
  });
});
