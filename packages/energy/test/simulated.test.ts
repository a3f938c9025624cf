import { EnergyConfigSchema, SIMULATED_GPU_PROFILES } from '@llem/core';
import { describe, expect, it } from 'vitest';
import { unwrapCounter } from '../src/integrate.js';
import { SamplingEnergyMeter } from '../src/meter.js';
import { SimulatedBoard } from '../src/simulated/board.js';
import { SIMULATED_PROFILES, type SimulatedGpuProfile } from '../src/simulated/profiles.js';
import { SimulatedSampler } from '../src/simulated/sampler.js';
import { measuredUpdatePeriodS } from '../src/uncertainty.js';

/** The sensor read every millisecond over [from, to): what a fast poller sees. */
function readEveryMs(board: SimulatedBoard, from: number, to: number) {
  const out: { t: number; energyMj: number; powerW: number }[] = [];
  for (let ms = Math.round(from * 1000); ms < Math.round(to * 1000); ms++) {
    const t = ms / 1000;
    out.push({ t, ...board.read(t) });
  }
  return out;
}

const steadyBoard = (
  profile: SimulatedGpuProfile,
  extra: Partial<ConstructorParameters<typeof SimulatedBoard>[0]> = {},
) => new SimulatedBoard({ profile, gain: 1, seed: 7, utilisation: 0.6, burstiness: 0, ...extra });

describe.each(SIMULATED_GPU_PROFILES)(
  'simulated %s: its stated sensor parameters, measured from its readings',
  (name) => {
    const profile = SIMULATED_PROFILES[name];

    it(`the counter updates every ${profile.updatePeriodMs} ms`, () => {
      const board = steadyBoard(profile);
      board.setActive(0, true);
      const readings = readEveryMs(board, 0, 3);
      const period = measuredUpdatePeriodS(readings.map((r) => ({ t: r.t, v: r.energyMj })));
      expect(period).not.toBeNull();
      expect(Math.abs((period as number) * 1000 - profile.updatePeriodMs)).toBeLessThan(1);
    });

    it(`the power reading averages over ${profile.averagingWindowMs} ms`, () => {
      const board = steadyBoard(profile);
      board.setActive(2, true);
      const readings = readEveryMs(board, 0, 5);
      const before = readings.filter((r) => r.t < 2).map((r) => r.powerW);
      const idleMax = Math.max(...before);
      const final = readings.at(-1)?.powerW as number;
      const rise = readings.find((r) => r.powerW > idleMax + 1)?.t as number;
      const settled = readings.find((r) => r.powerW >= final - 1e-6)?.t as number;
      // The reading ramps from idle to active over one averaging window (to one update period).
      expect(
        Math.abs((settled - rise) * 1000 + profile.updatePeriodMs - profile.averagingWindowMs),
      ).toBeLessThanOrEqual(profile.updatePeriodMs + 1);
    });

    it(`the sensor observes ${profile.observedFraction * 100} % of each update period`, () => {
      // A 1 ms, 1 kW pulse at phase φ of every period: the counter sees it only when φ falls in the observed part.
      const periodMs = profile.updatePeriodMs;
      let seen = 0;
      for (let phase = 0; phase < periodMs; phase++) {
        const board = steadyBoard(profile, {
          activePowerW: (t) => (Math.abs(((t * 1000) % periodMs) - (phase + 0.5)) < 0.5 ? 1000 : 0),
        });
        board.setActive(0, true);
        const start = board.read(0).energyMj;
        const end = board.read(1).energyMj;
        if (end > start) seen++;
      }
      expect(Math.abs(seen / periodMs - profile.observedFraction)).toBeLessThanOrEqual(0.02);
    });
  },
);

describe('simulated sampler', () => {
  it('gives each board a gain error from the seed, within gain_error_pct', () => {
    const gains = [1, 2, 3, 4].map((seed) => {
      const sampler = new SimulatedSampler({
        config: { profile: 'h200', seed, gain_error_pct: 3, burstiness: 0 },
      });
      const board = sampler.boards[0] as SimulatedBoard;
      board.setActive(0, true);
      const a = board.read(1).energyMj;
      const trueA = board.trueEnergySoFarJ;
      const b = board.read(11).energyMj;
      return (b - a) / 1000 / (board.trueEnergySoFarJ - trueA);
    });
    for (const g of gains) expect(Math.abs(g - 1)).toBeLessThanOrEqual(0.03 + 1e-6);
    expect(new Set(gains.map((g) => g.toFixed(6))).size).toBe(4);
    // The same seed gives the same board.
    const again = new SimulatedSampler({ config: { profile: 'h200', seed: 1, gain_error_pct: 3 } });
    const first = new SimulatedSampler({ config: { profile: 'h200', seed: 1, gain_error_pct: 3 } });
    expect(again.boards[0]?.read(5)).toEqual(first.boards[0]?.read(5));
  });

  it('heats up with a 20 s time constant, not with each burst', () => {
    const board = steadyBoard(SIMULATED_PROFILES.h100, { utilisation: 1 });
    board.setActive(0, true);
    board.read(3);
    const expected3 = 35 + 40 * (1 - Math.exp(-3 / 20));
    expect(Math.abs(board.temperatureC - expected3)).toBeLessThan(0.5);
    board.read(200);
    expect(Math.abs(board.temperatureC - 75)).toBeLessThan(0.1);
  });

  it('resets its counter on a simulated driver reload, which integration counts as a regression', () => {
    const sampler = new SimulatedSampler({ config: { profile: 'a100', reload_after_s: 1.05 } });
    const board = sampler.boards[0] as SimulatedBoard;
    board.setActive(0, true);
    const readings = readEveryMs(board, 0, 2).filter((_, i) => i % 100 === 0);
    const unwrapped = unwrapCounter(readings.map((r) => ({ t: r.t, energyMj: r.energyMj })));
    expect(unwrapped.regressions).toBe(1);
  });

  it('is never picked by samplers: auto, and refuses to be mixed with measuring samplers', () => {
    expect(EnergyConfigSchema.safeParse({ samplers: ['simulated', 'nvml'] }).success).toBe(false);
    expect(
      EnergyConfigSchema.safeParse({ samplers: ['simulated'], simulated: { profile: 'l4' } }).success,
    ).toBe(true);
    expect(
      EnergyConfigSchema.safeParse({ samplers: ['simulated'], simulated: { profile: 'v100' } }).success,
    ).toBe(false);
  });

  it('through a meter: idle in the baseline, energy rises in the window, labelled simulated with its uncertainty', async () => {
    const sampler = new SimulatedSampler({ config: { profile: 'h100' }, intervalMs: 20 });
    const meter = new SamplingEnergyMeter({ samplers: [sampler], selection: ['simulated'] });
    const baseline = await meter.baseline({ durationS: 0.5, ttlS: 0 });
    expect(baseline?.power_w.gpu0).toBeGreaterThan(60);
    expect(baseline?.power_w.gpu0).toBeLessThan(80);
    expect(baseline?.power_spread_w?.gpu0).toBeGreaterThanOrEqual(0);
    await meter.start();
    const startNs = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, 1500));
    const endNs = process.hrtime.bigint();
    const traces = await meter.stop();
    const m = meter.integrate(traces, { startNs, endNs }, baseline);
    const gpu = m.devices[0];
    expect(gpu?.source).toBe('simulated');
    expect(gpu?.name).toContain('simulated');
    expect(gpu?.mean_power_w).toBeGreaterThan((baseline?.power_w.gpu0 ?? 0) * 2);
    expect(m.total.adjusted_j).toBeGreaterThan(0);
    expect(m.devices[0]?.uncertainty?.total_j).toBeGreaterThan(0);
    expect(m.total.uncertainty?.sensor_error_pct).toBe(5);
    expect(m.quality.warnings.map((w) => w.code)).toContain('simulated_energy');
    await meter.close();
  });

  it("a baseline right after a run takes its spread from the counter, not the power reading's 1 s tail", async () => {
    const sampler = new SimulatedSampler({ config: { profile: 'h100' }, intervalMs: 20 });
    const meter = new SamplingEnergyMeter({ samplers: [sampler], selection: ['simulated'] });
    await meter.start();
    await new Promise((r) => setTimeout(r, 600));
    await meter.stop();
    const baseline = await meter.baseline({ durationS: 1, ttlS: 0 });
    // Idle draw wanders by ±1 % (70 W): the counter's steps jitter with the reading times, but the
    // tail of the averaged power reading (hundreds of W) is not in the spread.
    expect(baseline?.power_spread_w?.gpu0).toBeLessThan(0.15 * 70);
    await meter.close();
  });
});
