/**
 * The NVML binding at the FFI boundary: a fake libnvidia-ml.so.1 compiled from C with gcc, loaded
 * through the real koffi binding. Its counter is base + power x elapsed time, so the energy of any
 * window is known.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { integrateTraces } from '../src/measure.js';
import { NvmlSampler } from '../src/nvml/sampler.js';
import { compileFakeNvml, type FakeNvmlScript, writeFakeNvmlScript } from './fixtures/fake-nvml.js';

let libraryPath = '';
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llem-nvml-test-'));
  libraryPath = await compileFakeNvml(dir);
});

async function sampler(
  script: FakeNvmlScript,
  options: { devices?: number[]; viaEnv?: boolean } = {},
): Promise<NvmlSampler> {
  const scriptPath = join(dir, 'script.txt');
  await writeFakeNvmlScript(scriptPath, script);
  process.env.FAKE_NVML_SCRIPT = scriptPath; // read by the C fake at nvmlInit_v2
  return options.viaEnv
    ? new NvmlSampler({ env: { LLEM_NVML_LIBRARY: libraryPath }, intervalMs: 10, devices: options.devices })
    : new NvmlSampler({ libraryPath, intervalMs: 10, devices: options.devices });
}

const twoGpus: FakeNvmlScript = {
  devices: [
    {
      name: 'Fake-H100',
      uuid: 'GPU-aaaa-1111',
      powerW: 250.5,
      temperatureC: 47,
      smClockMhz: 1980,
      throttleReasons: 0x1,
      memoryUsedBytes: 3 * 2 ** 30,
    },
    { name: 'Fake-P100', uuid: 'GPU-bbbb-2222', powerW: 120, energyCounter: false },
  ],
};

describe('NvmlSampler on a fake libnvidia-ml.so.1', () => {
  it('probes devices, and falls back to power polling where the counter is NOT_SUPPORTED', async () => {
    const s = await sampler(twoGpus);
    const probe = await s.probe();
    expect(probe.available).toBe(true);
    expect(probe.devices).toEqual([
      { id: 'gpu0', kind: 'gpu', name: 'Fake-H100', index: 0, uuid: 'GPU-aaaa-1111' },
      { id: 'gpu1', kind: 'gpu', name: 'Fake-P100', index: 1, uuid: 'GPU-bbbb-2222' },
    ]);
    expect(probe.notes).toEqual([
      expect.stringMatching(
        /gpu1 \(Fake-P100\): energy counter unsupported.*NVML_ERROR_NOT_SUPPORTED.*falling back to power polling/,
      ),
    ]);
    s.close();
  });

  it('samples every field and integrates the known energy of a window', async () => {
    const s = await sampler(twoGpus);
    await s.start();
    await sleep(60);
    const startNs = process.hrtime.bigint();
    await sleep(250);
    const endNs = process.hrtime.bigint();
    await sleep(40);
    const t = await s.stop();
    s.close();
    expect(t.sampler).toBe('nvml');
    expect(t.devices.map((d) => d.source)).toEqual(['counter', 'power']);
    const [h100, p100] = t.devices;
    // At 10 ms, the auxiliary fields come every 10th reading (aux interval 100 ms); energy and power every time.
    const [r, next] = h100?.readings ?? [];
    expect(next?.powerW).toBe(250.5);
    expect([next?.temperatureC, next?.smClockMhz, next?.throttleReasons]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(typeof next?.energyMj).toBe('number');
    expect(r).toMatchObject({
      powerW: 250.5,
      temperatureC: 47,
      smClockMhz: 1980,
      throttleReasons: 0x1,
      memoryUsedBytes: 3 * 2 ** 30,
      utilisationPct: 100,
    });
    expect(typeof r?.energyMj).toBe('number');
    expect(p100?.readings.every((x) => x.energyMj === undefined && x.powerW === 120)).toBe(true);

    const m = integrateTraces([t], { startNs, endNs }, null);
    const windowS = Number(endNs - startNs) / 1e9;
    const [e0, e1] = m.devices;
    // Counter quantised to 1 mJ; reading and timestamp are taken microseconds apart.
    expect(e0?.source).toBe('counter');
    expect(Math.abs((e0?.energy_j ?? 0) / (250.5 * windowS) - 1)).toBeLessThan(0.005);
    expect(Math.abs(e0?.disagreement_pct ?? 100)).toBeLessThan(1);
    expect(e1).toMatchObject({ source: 'power-integral', cross_check_j: null });
    expect(e1?.energy_j).toBeCloseTo(120 * windowS, 6);
    expect(m.quality.throttled).toBe(false); // 0x1 is GPU idle, not a slowdown
  });

  it('measures only the selected indices, and rejects one that does not exist', async () => {
    const one = await sampler(twoGpus, { devices: [1] });
    expect((await one.probe()).devices.map((d) => d.id)).toEqual(['gpu1']);
    one.close();
    const bad = await sampler(twoGpus, { devices: [0, 7] });
    expect(await bad.probe()).toMatchObject({
      available: false,
      reason: expect.stringContaining('GPU index 7 does not exist (this machine has 2: 0-1)'),
    });
    bad.close();
  });

  it('takes the library path from LLEM_NVML_LIBRARY', async () => {
    const s = await sampler(twoGpus, { viaEnv: true });
    expect((await s.probe()).available).toBe(true);
    expect(await s.temperatures()).toEqual({ gpu0: 47, gpu1: 40 });
    s.close();
  });

  it('explains a machine with no GPU', async () => {
    const s = await sampler({ devices: [] });
    const probe = await s.probe();
    expect(probe).toMatchObject({ available: false, devices: [] });
    expect(probe.reason).toContain('no NVIDIA GPU found');
    await expect(s.start()).rejects.toThrow(/no NVIDIA GPU/);
    s.close();
  });

  it('explains a driver that is not loaded', async () => {
    const s = await sampler({ initRc: 9, devices: twoGpus.devices });
    const probe = await s.probe();
    expect(probe.reason).toMatch(/nvmlInit failed: .*Driver Not Loaded/);
    expect(probe.fix).toContain('kernel driver');
    s.close();
  });

  it('leaves out a GPU in MIG mode with the reason', async () => {
    const s = await sampler({ devices: [{ name: 'Fake-A100', uuid: 'GPU-mig', powerW: 90, mig: true }] });
    const probe = await s.probe();
    expect(probe.available).toBe(false);
    expect(probe.notes?.[0]).toMatch(/MIG mode is enabled.*whole GPU/);
    s.close();
  });

  it('explains a missing library', async () => {
    const s = new NvmlSampler({ libraryPath: join(dir, 'absent', 'libnvidia-ml.so.1') });
    const probe = await s.probe();
    expect(probe.available).toBe(false);
    expect(probe.reason).toContain('cannot load');
    expect(probe.fix).toContain('LLEM_NVML_LIBRARY');
  });
});
