/**
 * SamplingEnergyMeter end to end: the fake NVML library (real FFI), a fake powercap tree and a fake
 * /proc, with a real baseline cache on disk.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Clock,
  EnergyConfigSchema,
  EnergyError,
  EnergyMeasurementSchema,
  systemClock,
} from '@llem/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { BASELINE_CACHE_FILE } from '../src/baseline-cache.js';
import { type CreateEnergyMeterOptions, createEnergyMeter } from '../src/meter.js';
import { compileFakeNvml, type FakeGpu, writeFakeNvmlScript } from './fixtures/fake-nvml.js';

let dir = '';
let nvmlLibrary = '';
let scriptPath = '';
let procRoot = '';
let raplRoot = '';
const noRapl = '/nonexistent/powercap';

const gpus = (w0: number, w1: number): FakeGpu[] => [
  { name: 'Fake-H100', uuid: 'GPU-aaaa', powerW: w0, temperatureC: 35 },
  { name: 'Fake-V100', uuid: 'GPU-bbbb', powerW: w1, temperatureC: 38 },
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llem-meter-'));
  nvmlLibrary = await compileFakeNvml(dir);
  scriptPath = join(dir, 'script.txt');
  procRoot = join(dir, 'proc');
  await mkdir(procRoot);
  await writeFile(join(procRoot, 'stat'), 'cpu  100 0 0 100 0 0 0 0 0 0\n');
  await writeFile(join(procRoot, 'cpuinfo'), 'model name\t: Mystery CPU\nphysical id\t: 0\n');
  raplRoot = join(dir, 'powercap');
  await mkdir(join(raplRoot, 'intel-rapl:0'), { recursive: true });
  for (const [f, v] of [
    ['name', 'package-0'],
    ['max_energy_range_uj', '262143328850'],
    ['energy_uj', '1000'],
  ] as const) {
    await writeFile(join(raplRoot, 'intel-rapl:0', f), `${v}\n`);
  }
});

async function meter(config: Record<string, unknown>, options: Partial<CreateEnergyMeterOptions> = {}) {
  process.env.FAKE_NVML_SCRIPT = scriptPath;
  return createEnergyMeter(
    EnergyConfigSchema.parse({ sample_interval_ms: 10, cpu_tdp_watts: 100, ...config }),
    {
      nvmlLibrary,
      procRoot,
      raplRoot: noRapl,
      cacheDir: join(dir, 'cache'),
      ...options,
    },
  );
}

const names = async (m: Awaited<ReturnType<typeof meter>>) => (await m.activeSamplers()).map((s) => s.name);

describe('sampler selection', () => {
  it('auto: NVML plus the CPU estimate when there is no CPU counter', async () => {
    await writeFakeNvmlScript(scriptPath, { devices: gpus(100, 100) });
    const m = await meter({});
    expect((await m.probe()).map((p) => p.available)).toEqual([true, false, true]);
    expect(await names(m)).toEqual(['nvml', 'cpu-estimate']);
  });

  it('auto: RAPL replaces the estimate when it is available', async () => {
    const m = await meter({}, { raplRoot });
    expect(await names(m)).toEqual(['nvml', 'rapl']);
  });

  it('an explicitly requested sampler that cannot run is an EnergyError with the fix', async () => {
    const m = await meter({ samplers: ['nvml', 'rapl'] });
    const error = await m.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnergyError);
    expect((error as EnergyError).message).toContain("'rapl' is not available: RAPL: no powercap interface");
    expect((error as EnergyError).fix).toContain('intel_rapl');
  });

  it('energy.enabled: false measures nothing and says so', async () => {
    const m = await meter({ enabled: false });
    expect(await m.probe()).toEqual([]);
    await m.start();
    const w = { startNs: process.hrtime.bigint(), endNs: process.hrtime.bigint() + 1n };
    expect(m.integrate(await m.stop(), w, null).quality.warnings.map((x) => x.code)).toContain(
      'no_energy_source',
    );
  });
});

describe('lifecycle', () => {
  it('refuses a second start and a baseline while running; close releases NVML', async () => {
    await writeFakeNvmlScript(scriptPath, { devices: gpus(100, 100) });
    const m = await meter({ samplers: ['nvml'] });
    await m.start();
    await expect(m.start()).rejects.toThrow(/already running/);
    await expect(m.baseline({ durationS: 0.1, ttlS: 0 })).rejects.toThrow(
      /while the energy meter is running/,
    );
    await m.close();
    // Probed afresh after close: NVML is initialised again.
    expect((await m.probe())[0]?.available).toBe(true);
    await m.start();
    expect((await m.stop())[0]?.devices).toHaveLength(2);
  });
});

describe('a measured run with an idle baseline', () => {
  it('subtracts the measured idle power and validates against the schema', async () => {
    await writeFakeNvmlScript(scriptPath, { devices: gpus(50, 30) });
    const m = await meter({ samplers: ['nvml'] }, { cacheDir: join(dir, 'run-cache') });
    const baseline = await m.baseline({ durationS: 0.15, ttlS: 600 });
    expect(baseline).toMatchObject({ from_cache: false, age_s: 0, temperature_c: { gpu0: 35, gpu1: 38 } });
    expect(baseline?.power_w.gpu0).toBeCloseTo(50, 0);
    expect(baseline?.power_w.gpu1).toBeCloseTo(30, 0);

    await writeFakeNvmlScript(scriptPath, { devices: gpus(300, 130) });
    await sleep(20); // let the fake pick the new power up
    await m.start();
    await sleep(30);
    const startNs = process.hrtime.bigint();
    await sleep(200);
    const endNs = process.hrtime.bigint();
    await sleep(30);
    const result = m.integrate(await m.stop(), { startNs, endNs }, baseline);
    expect(EnergyMeasurementSchema.parse(result)).toEqual(result);
    const w = result.window_s;
    const [g0, g1] = result.devices;
    expect(g0?.energy_j).toBeCloseTo(300 * w, 0);
    expect(Math.abs((g0?.adjusted_j ?? 0) / (250 * w) - 1)).toBeLessThan(0.02);
    expect(Math.abs((g1?.adjusted_j ?? 0) / (100 * w) - 1)).toBeLessThan(0.02);
    expect(result.total.estimated_j).toBe(0);
    expect(result.total.adjusted_j).toBeCloseTo((g0?.adjusted_j ?? 0) + (g1?.adjusted_j ?? 0), 5);
    // 0.2 s is far under min_window_seconds: the quality block says so.
    expect(result.quality.warnings.map((x) => x.code)).toContain('short_window');
    expect(await m.temperatures()).toEqual({ gpu0: 35, gpu1: 38 });
  });
});

describe('baseline cache', () => {
  const at = (date: Date): Clock => ({ now: () => date, monotonicNs: systemClock.monotonicNs });

  it('reuses a fresh entry, expires it after the TTL, and ignores another device set', async () => {
    await writeFakeNvmlScript(scriptPath, { devices: gpus(60, 40) });
    const cacheDir = join(dir, 'ttl-cache');
    const t0 = new Date('2026-11-28T12:00:00.000Z');
    const first = await (await meter({ samplers: ['nvml'] }, { cacheDir, clock: at(t0) })).baseline({
      durationS: 0.1,
      ttlS: 60,
    });
    expect(first?.from_cache).toBe(false);

    const later = new Date(t0.getTime() + 30_000);
    const hit = await (await meter({ samplers: ['nvml'] }, { cacheDir, clock: at(later) })).baseline({
      durationS: 0.1,
      ttlS: 60,
    });
    expect(hit).toEqual({ ...first, from_cache: true, age_s: 30 });

    const onlyGpu1 = await (
      await meter({ samplers: ['nvml'] }, { cacheDir, clock: at(later), gpuIndices: [1] })
    ).baseline({ durationS: 0.1, ttlS: 60 });
    expect(onlyGpu1?.from_cache).toBe(false);
    expect(Object.keys(onlyGpu1?.power_w ?? {})).toEqual(['gpu1']);

    const expired = new Date(t0.getTime() + 61_000);
    const stale = await (await meter({ samplers: ['nvml'] }, { cacheDir, clock: at(expired) })).baseline({
      durationS: 0.1,
      ttlS: 60,
    });
    expect(stale).toMatchObject({ from_cache: false, age_s: 0, taken_at_utc: expired.toISOString() });

    const noCache = await (await meter({ samplers: ['nvml'] }, { cacheDir, clock: at(expired) })).baseline({
      durationS: 0.1,
      ttlS: 0,
    });
    expect(noCache?.from_cache).toBe(false);

    const file = JSON.parse(await readFile(join(cacheDir, BASELINE_CACHE_FILE), 'utf8'));
    expect(file.entries.map((e: { device_set: string[] }) => e.device_set)).toEqual([
      ['nvml:gpu1=GPU-bbbb'],
      ['nvml:gpu0=GPU-aaaa', 'nvml:gpu1=GPU-bbbb'],
    ]);
  });

  it('an aborted baseline stops its samplers and rejects', async () => {
    await writeFakeNvmlScript(scriptPath, { devices: gpus(60, 40) });
    const m = await meter({ samplers: ['nvml'] }, { cacheDir: join(dir, 'abort-cache') });
    const controller = new AbortController();
    const pending = m.baseline({ durationS: 30, ttlS: 60, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(pending).rejects.toThrow('stop');
    // The samplers were stopped, so a run can start.
    await m.start();
    expect((await m.stop()).length).toBe(1);
  });
});
