import { type BaselineInfo, EnergyMeasurementSchema } from '@llem/core';
import { describe, expect, it } from 'vitest';
import { integrateTraces } from '../src/measure.js';
import { constant, ns, sampleCurve, trace } from './synthetic.js';

const window = { startNs: ns(0), endNs: ns(10) };
const codes = (m: { quality: { warnings: { code: string }[] } }) => m.quality.warnings.map((w) => w.code);

function baseline(power: Record<string, number>): BaselineInfo {
  return {
    taken_at_utc: '2026-11-28T10:00:00.000Z',
    duration_s: 30,
    from_cache: true,
    age_s: 12,
    power_w: power,
  };
}

describe('baseline adjustment', () => {
  it('subtracts idle power x the energy window length, never below 0', () => {
    const busy = sampleCurve(constant(250), -1, 11, 0.1);
    const idle = sampleCurve(constant(40), -1, 11, 0.1);
    const m = integrateTraces(
      [trace([{ readings: busy }, { readings: idle }])],
      window,
      baseline({ gpu0: 50, gpu1: 60 }),
    );
    expect(m.devices[0]).toMatchObject({ baseline_power_w: 50, baseline_j: 500, adjusted_j: 2000 });
    expect(m.devices[1]?.adjusted_j).toBe(0); // 400 J - 600 J clamps at 0
    expect(m.total).toMatchObject({ measured_j: 2900, estimated_j: 0, baseline_j: 1100, adjusted_j: 2000 });
    expect(m.baseline?.from_cache).toBe(true);
  });

  it('gives no total baseline when a measured device has none', () => {
    const r = sampleCurve(constant(100), -1, 11, 0.1);
    const m = integrateTraces([trace([{ readings: r }, { readings: r }])], window, baseline({ gpu0: 10 }));
    expect(m.devices[1]?.adjusted_j).toBeNull();
    expect(m.total.baseline_j).toBeNull();
    expect(m.total.adjusted_j).toBeNull();
  });
});

describe('totals', () => {
  it('keeps estimates apart from measured energy', () => {
    const gpu = trace([{ readings: sampleCurve(constant(300), -1, 11, 0.1) }]);
    const est = trace(
      [
        {
          device: { id: 'cpu-estimate', kind: 'cpu', name: 'CPU (estimate)' },
          source: 'estimate',
          readings: sampleCurve(constant(20), -1, 11, 0.1),
        },
      ],
      100,
      'cpu-estimate',
    );
    const m = integrateTraces([gpu, est], window, null);
    expect(m.total.measured_j).toBeCloseTo(3000, 6);
    expect(m.total.estimated_j).toBeCloseTo(200, 6);
    expect(m.devices.find((d) => d.device_id === 'cpu-estimate')?.source).toBe('estimate');
    const info = m.quality.warnings.find((w) => w.code === 'estimated_energy');
    expect(info?.severity).toBe('info');
  });

  it('does not add RAPL core and uncore on top of their package', () => {
    const pkg = { id: 'cpu-package-0', kind: 'cpu' as const, name: 'pkg' };
    const rapl = trace(
      [
        { device: pkg, readings: sampleCurve(constant(100), -1, 11, 0.1) },
        {
          device: { id: 'cpu-core-0', kind: 'cpu', name: 'core', partOf: 'cpu-package-0' },
          readings: sampleCurve(constant(60), -1, 11, 0.1),
        },
        {
          device: { id: 'dram-0', kind: 'dram', name: 'dram' },
          readings: sampleCurve(constant(10), -1, 11, 0.1),
        },
      ],
      100,
      'rapl',
    );
    const m = integrateTraces([rapl], window, null);
    expect(m.devices).toHaveLength(3);
    expect(m.total.measured_j).toBeCloseTo(1100, 6);
  });
});

describe('quality block', () => {
  it('is clean for a long, dense, agreeing trace', () => {
    const m = integrateTraces([trace([{ readings: sampleCurve(constant(200), -1, 11, 0.1) }])], window, null);
    expect(m.quality).toMatchObject({
      ok: true,
      warnings: [],
      counter_wraps: 0,
      counter_regressions: 0,
      throttled: false,
    });
    expect(m.quality.counter_updates).toBe(100);
    expect(m.quality.max_sample_gap_ms).toBeCloseTo(100, 3);
  });

  it('warns on a short window and on few counter updates', () => {
    const readings = sampleCurve(constant(200), -1, 3, 0.1);
    const m = integrateTraces([trace([{ readings }])], { startNs: ns(0), endNs: ns(0.5) }, null);
    expect(codes(m)).toEqual(expect.arrayContaining(['short_window', 'few_counter_updates']));
    expect(m.quality.counter_updates).toBe(5);
  });

  it('reports the largest sampling gap and warns past 3 intervals', () => {
    const readings = sampleCurve(constant(200), -1, 11, 0.1).filter(
      (r) => r.tMonoNs < ns(4) || r.tMonoNs > ns(4.75),
    );
    const m = integrateTraces([trace([{ readings }])], window, null);
    expect(m.quality.max_sample_gap_ms).toBeCloseTo(900, 3);
    expect(codes(m)).toContain('sampling_gap');
    // The counter still bridges the gap exactly.
    expect(m.devices[0]?.energy_j).toBeCloseTo(2000, 6);
  });

  it('flags throttling from NVML clock-event bits inside the window only', () => {
    const readings = sampleCurve(constant(200), -1, 11, 0.1).map((r) => ({
      ...r,
      throttleReasons: r.tMonoNs === ns(5) ? 0x20 | 0x1 : r.tMonoNs < ns(0) ? 0x40 : 0x1,
    }));
    const m = integrateTraces([trace([{ readings }])], window, null);
    expect(m.quality.throttled).toBe(true);
    const w = m.quality.warnings.find((x) => x.code === 'throttled');
    expect(w?.message).toContain('sw_thermal');
    expect(w?.message).not.toContain('hw_thermal');
  });

  it('warns when the temperature drifts more than 10 °C across the window', () => {
    const readings = sampleCurve(constant(200), -1, 11, 0.1).map((r) => ({
      ...r,
      temperatureC: 40 + (Number(r.tMonoNs - ns(0)) / 1e9) * 1.5,
    }));
    const m = integrateTraces([trace([{ readings }])], window, null);
    expect(m.quality.warnings.find((w) => w.code === 'thermal_drift')?.message).toContain('15.0 °C');
    const steady = readings.map((r) => ({ ...r, temperatureC: 40 + ((r.temperatureC ?? 0) - 40) / 2 }));
    expect(codes(integrateTraces([trace([{ readings: steady }])], window, null))).not.toContain(
      'thermal_drift',
    );
  });

  it('measures counter vs power disagreement and applies the threshold and policy', () => {
    // The power sensor reads 20 % high.
    const readings = sampleCurve(constant(200), -1, 11, 0.1).map((r) => ({ ...r, powerW: 240 }));
    const warn = integrateTraces([trace([{ readings }])], window, null, {
      min_window_seconds: 5,
      max_disagreement_pct: 10,
      quality_policy: 'warn',
    });
    expect(warn.devices[0]?.disagreement_pct).toBeCloseTo(20, 3);
    expect(warn.quality.warnings).toEqual([
      expect.objectContaining({ code: 'counter_power_disagreement', severity: 'warn', device_id: 'gpu0' }),
    ]);
    const fail = integrateTraces([trace([{ readings }])], window, null, {
      min_window_seconds: 5,
      max_disagreement_pct: 10,
      quality_policy: 'fail',
    });
    expect(fail.quality.warnings[0]?.severity).toBe('fail');
    expect(fail.quality.ok).toBe(false);
    const loose = integrateTraces([trace([{ readings }])], window, null, {
      min_window_seconds: 5,
      max_disagreement_pct: 25,
      quality_policy: 'fail',
    });
    expect(loose.quality.ok).toBe(true);
  });

  it('handles an hour of 100 Hz readings', () => {
    const readings = sampleCurve(constant(300), -1, 3601, 0.01);
    const m = integrateTraces([trace([{ readings }], 10)], { startNs: ns(0), endNs: ns(3600) }, null);
    expect(m.devices[0]?.energy_j).toBeCloseTo(300 * 3600, 3);
    expect(m.devices[0]?.peak_power_w).toBe(300);
  });

  it('says so when nothing was measured, and still validates', () => {
    const m = integrateTraces([], window, null);
    expect(codes(m)).toEqual(['no_energy_source']);
    expect(m.quality.counter_updates).toBeNull();
    expect(m.quality.max_sample_gap_ms).toBeNull();
    expect(EnergyMeasurementSchema.parse(m)).toEqual(m);
  });

  it('rejects a window that ends before it starts', () => {
    expect(() => integrateTraces([], { startNs: ns(2), endNs: ns(1) }, null)).toThrow(/before it starts/);
  });
});
