/**
 * "Joules so far": the meter's running total equals the window integral of the readings it has
 * seen, on synthetic traces (fed incrementally) and on the fake NVML library through the meter.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnergyConfigSchema, type EnergyReading, type SamplerTrace } from '@llem/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { LiveEnergy } from '../src/live-energy.js';
import { integrateTraces } from '../src/measure.js';
import { createEnergyMeter } from '../src/meter.js';
import type { EnergyDeviceTrace } from '../src/types.js';
import { compileFakeNvml, writeFakeNvmlScript } from './fixtures/fake-nvml.js';
import { constant, ns, ramp, sampleCurve, sine, trace } from './synthetic.js';

/** integrateTraces over [first, last] reading of every device. */
function integralOfAll(t: SamplerTrace) {
  const times = t.devices.flatMap((d) => d.readings.map((r) => r.tMonoNs));
  const sorted = times.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const [startNs, endNs] = [sorted[0] ?? 0n, sorted.at(-1) ?? 0n];
  return integrateTraces([t], { startNs, endNs }, null).total;
}

describe('LiveEnergy on synthetic traces', () => {
  it('after each batch of readings, equals the integral of the readings so far', () => {
    const full = trace([
      { readings: sampleCurve(sine(200, 80, 1.3), 0, 6, 0.1), source: 'counter' },
      { readings: sampleCurve(ramp(50, 10), 0, 6, 0.1), source: 'power' },
      {
        device: { id: 'cpu-estimate', kind: 'cpu', name: 'CPU' },
        readings: sampleCurve(constant(40), 0, 6, 0.1),
        source: 'estimate',
      },
    ]);
    // The live arrays grow as a sampler's would; the integrator sees the same array objects.
    const live: EnergyDeviceTrace[] = full.devices.map((d) => ({ ...d, readings: [] as EnergyReading[] }));
    const integrator = new LiveEnergy();
    for (const upTo of [1, 2, 7, 30, 61]) {
      for (const [i, d] of live.entries())
        d.readings.push(...(full.devices[i]?.readings.slice(d.readings.length, upTo) ?? []));
      const got = integrator.update(live);
      if (upTo === 1) {
        expect(got).toMatchObject({ measuredJ: 0, estimatedJ: 0 });
        continue;
      }
      const measured = integralOfAll({ ...full, devices: live.filter((d) => d.source !== 'estimate') });
      const estimated = integralOfAll({ ...full, devices: live.filter((d) => d.source === 'estimate') });
      expect(got.measuredJ).toBeCloseTo(measured.measured_j, 5);
      expect(got.estimatedJ).toBeCloseTo(estimated.estimated_j, 5);
      expect(got.estimatedJ).toBeCloseTo(40 * (upTo - 1) * 0.1, 6);
    }
  });

  it('holds the last reading of a power source up to now (at most 2 s), never of a counter', () => {
    const power: EnergyDeviceTrace = {
      device: { id: 'cpu-estimate', kind: 'cpu', name: 'CPU' },
      source: 'estimate',
      readings: [
        { tMonoNs: ns(0), powerW: 10 },
        { tMonoNs: ns(1), powerW: 30 },
      ],
    };
    const counter: EnergyDeviceTrace = {
      device: { id: 'gpu0', kind: 'gpu', name: 'g' },
      source: 'counter',
      readings: [
        { tMonoNs: ns(0), energyMj: 0 },
        { tMonoNs: ns(1), energyMj: 5000 },
      ],
    };
    expect(new LiveEnergy().update([power, counter])).toMatchObject({ estimatedJ: 20, measuredJ: 5 });
    // 0.5 s after the last reading: + 30 W x 0.5 s on the power source only.
    expect(new LiveEnergy().update([power, counter], ns(1.5))).toMatchObject({
      estimatedJ: 35,
      measuredJ: 5,
    });
    // A stalled sampler: held for 2 s at most.
    expect(new LiveEnergy().update([power, counter], ns(60))).toMatchObject({ estimatedJ: 80, measuredJ: 5 });
  });

  it('corrects a counter wrap, counts a regression as 0 J, and leaves out a device inside another', () => {
    const r = (t: number, energyMj: number): EnergyReading => ({ tMonoNs: ns(t), energyMj });
    const pkg: EnergyDeviceTrace = {
      device: { id: 'cpu-package-0', kind: 'cpu', name: 'pkg' },
      source: 'counter',
      counterRangeMj: 1000,
      readings: [r(0, 900), r(1, 950), r(2, 50)], // +50, wrap +100
    };
    const core: EnergyDeviceTrace = {
      device: {
        id: 'cpu-core-0',
        kind: 'cpu',
        name: 'core',
        partOf: 'cpu-package-0',
      } as EnergyDeviceTrace['device'],
      source: 'counter',
      readings: [r(0, 10), r(1, 500)],
    };
    const gpu: EnergyDeviceTrace = {
      device: { id: 'gpu0', kind: 'gpu', name: 'g' },
      source: 'counter',
      readings: [r(0, 5000), r(1, 7000), r(2, 100), r(3, 1100)], // +2000, regression 0, +1000
    };
    const live = new LiveEnergy().update([pkg, core, gpu]);
    expect(live).toMatchObject({ measuredJ: 0.15 + 3, estimatedJ: 0 });
    // Per measured device, for subtracting each one's idle power; the core inside the package is left out.
    expect(Object.keys(live.measuredByDevice ?? {}).sort()).toEqual(['cpu-package-0', 'gpu0']);
    expect(live.measuredByDevice?.['cpu-package-0']).toBeCloseTo(0.15, 12);
    expect(live.measuredByDevice?.gpu0).toBeCloseTo(3, 12);
  });
});

describe('SamplingEnergyMeter.liveEnergyJ on the fake NVML library', () => {
  let dir = '';
  let nvmlLibrary = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'llem-live-'));
    nvmlLibrary = await compileFakeNvml(dir);
    await mkdir(join(dir, 'proc'));
    await writeFile(join(dir, 'proc', 'stat'), 'cpu  100 0 0 100 0 0 0 0 0 0\n');
    await writeFile(join(dir, 'proc', 'cpuinfo'), 'model name\t: Mystery CPU\nphysical id\t: 0\n');
  });

  it('equals the integral of the readings taken before the call; null when not running', async () => {
    const scriptPath = join(dir, 'script.txt');
    await writeFakeNvmlScript(scriptPath, {
      devices: [
        { name: 'Fake-H100', uuid: 'GPU-a', powerW: 300 },
        { name: 'Fake-P100', uuid: 'GPU-b', powerW: 120, energyCounter: false },
      ],
    });
    process.env.FAKE_NVML_SCRIPT = scriptPath;
    const meter = createEnergyMeter(
      EnergyConfigSchema.parse({ sample_interval_ms: 10, cpu_tdp_watts: 100 }),
      {
        nvmlLibrary,
        procRoot: join(dir, 'proc'),
        raplRoot: '/nonexistent/powercap',
      },
    );
    expect(meter.liveEnergyJ()).toBeNull();
    await meter.start();
    await sleep(80);
    meter.liveEnergyJ(); // an earlier call: the next one continues from here
    await sleep(80);
    const beforeNs = process.hrtime.bigint();
    const live = meter.liveEnergyJ();
    // Synchronous with the call: no tick ran in between, so readings up to now are what it saw.
    const calledNs = process.hrtime.bigint();
    await sleep(30);
    const traces = await meter.stop();
    expect(meter.liveEnergyJ()).toBeNull();
    await meter.close();

    const seen = traces.map((t) => ({
      ...t,
      devices: t.devices.map((d) => ({ ...d, readings: d.readings.filter((r) => r.tMonoNs <= calledNs) })),
    }));
    const nvml = seen.find((t) => t.sampler === 'nvml') as SamplerTrace;
    const cpu = seen.find((t) => t.sampler === 'cpu-estimate') as SamplerTrace;
    // Plus each power source's last reading held from its time to the call's (between beforeNs and calledNs).
    const held = (t: SamplerTrace, atNs: bigint) =>
      t.devices
        .filter((d) => d.source !== 'counter' && !(d.device as { partOf?: string }).partOf)
        .reduce((sum, d) => {
          const last = d.readings.at(-1);
          return last?.powerW === undefined ? sum : sum + (last.powerW * Number(atNs - last.tMonoNs)) / 1e9;
        }, 0);
    const within = (value: number | undefined, base: number, t: SamplerTrace) => {
      expect(value).toBeGreaterThanOrEqual(base + held(t, beforeNs) - 1e-3);
      expect(value).toBeLessThanOrEqual(base + held(t, calledNs) + 1e-3);
    };
    expect(live?.measuredJ).toBeGreaterThan(0);
    within(live?.measuredJ, integralOfAll(nvml).measured_j, nvml);
    within(live?.estimatedJ, integralOfAll(cpu).estimated_j, cpu);
  });
});
