/** RaplSampler on a fake powercap tree in a temp dir (this machine has no RAPL). */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { integrateTraces } from '../src/measure.js';
import { RaplSampler } from '../src/rapl/sampler.js';

const RANGE_UJ = 1_000_000_000; // 1000 J

async function zone(root: string, dir: string, name: string, energyUj: number): Promise<void> {
  await mkdir(join(root, dir), { recursive: true });
  await writeFile(join(root, dir, 'name'), `${name}\n`);
  await writeFile(join(root, dir, 'max_energy_range_uj'), `${RANGE_UJ}\n`);
  await writeFile(join(root, dir, 'energy_uj'), `${energyUj}\n`);
}

/** Two sockets: package + core + dram each, and a psys zone that must not be counted. */
async function fakeTree(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'llem-powercap-'));
  for (const s of [0, 1]) {
    await zone(root, `intel-rapl:${s}`, `package-${s}`, 1000);
    await zone(root, `intel-rapl:${s}:0`, 'core', 500);
    await zone(root, `intel-rapl:${s}:1`, 'dram', 200);
  }
  await zone(root, 'intel-rapl:2', 'psys', 0);
  await mkdir(join(root, 'intel-rapl')); // the control-type dir sysfs also has
  return root;
}

describe('RaplSampler', () => {
  it('finds package, core and dram zones on every socket and skips psys', async () => {
    const probe = await new RaplSampler({ root: await fakeTree() }).probe();
    expect(probe.available).toBe(true);
    expect(probe.devices.map((d) => d.id)).toEqual([
      'cpu-package-0',
      'cpu-package-1',
      'cpu-core-0',
      'dram-0',
      'cpu-core-1',
      'dram-1',
    ]);
    expect(probe.devices.find((d) => d.id === 'cpu-core-1')).toMatchObject({ partOf: 'cpu-package-1' });
    expect(probe.notes?.join()).toContain('psys');
  });

  it('reads the counters, handles a wrap, and does not double count core', async () => {
    const root = await fakeTree();
    const s = new RaplSampler({ root, intervalMs: 10 });
    const set = (dir: string, uj: number) => writeFile(join(root, dir, 'energy_uj'), `${uj}\n`);
    await set('intel-rapl:0', 999_000_000);
    await s.start();
    await sleep(40);
    await set('intel-rapl:0', 999_600_000);
    await sleep(40);
    await set('intel-rapl:0', 200_000_000); // wrapped past 1000 J
    await sleep(40);
    await set('intel-rapl:0', 300_000_000);
    await set('intel-rapl:0:0', 100_000_500); // core: +100 J, inside the package
    await set('intel-rapl:1', 5_001_000); // socket 1: +5 J
    await set('intel-rapl:0:1', 2_000_200); // dram 0: +2 J
    const t = await s.stop();
    const pkg0 = t.devices.find((d) => d.device.id === 'cpu-package-0');
    expect(pkg0?.readings.at(-1)?.energyMj).toBe(300_000);
    const times = t.devices
      .flatMap((d) => d.readings.map((r) => r.tMonoNs))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const [first, last] = [times[0] ?? 0n, times.at(-1) ?? 0n];
    const m = integrateTraces([t], { startNs: first, endNs: last }, null);
    const energy = Object.fromEntries(m.devices.map((d) => [d.device_id, d.energy_j]));
    // package-0: 999 J -> wrap at 1000 J -> 300 J = 301 J.
    expect(energy['cpu-package-0']).toBeCloseTo(301, 6);
    expect(energy['cpu-core-0']).toBeCloseTo(100, 6);
    expect(energy['dram-0']).toBeCloseTo(2, 6);
    expect(energy['cpu-package-1']).toBeCloseTo(5, 6);
    expect(m.quality.counter_wraps).toBe(1);
    expect(m.total.measured_j).toBeCloseTo(301 + 2 + 5, 6);
    expect(m.devices.every((d) => d.source === 'counter')).toBe(true);
  });

  it('explains a permission error with the fix', async () => {
    // Root ignores file modes, so chmod 000 cannot produce EACCES here: the read function is
    // injected and throws the error fs.readFileSync throws for an unreadable energy_uj.
    const root = await fakeTree();
    const denied = (path: string): string => {
      if (path.endsWith('energy_uj'))
        throw Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: 'EACCES' });
      return 'package-0\n';
    };
    const probe = await new RaplSampler({ root, readText: denied }).probe();
    expect(probe.available).toBe(false);
    expect(probe.reason).toContain('permission denied reading');
    expect(probe.fix).toMatch(/Since Linux 5\.10 .*root only/);
    expect(probe.fix).toContain('chmod o+r');
    expect(probe.fix).toContain('SUBSYSTEM=="powercap"');
  });

  it.skipIf(process.getuid?.() === 0)('explains a real EACCES (non-root only)', async () => {
    const { chmod } = await import('node:fs/promises');
    const root = await fakeTree();
    for (const dir of [
      'intel-rapl:0',
      'intel-rapl:0:0',
      'intel-rapl:0:1',
      'intel-rapl:1',
      'intel-rapl:1:0',
      'intel-rapl:1:1',
      'intel-rapl:2',
    ]) {
      await chmod(join(root, dir, 'energy_uj'), 0o000);
    }
    expect((await new RaplSampler({ root }).probe()).reason).toContain('permission denied');
  });

  it('explains a machine without powercap', async () => {
    const probe = await new RaplSampler({ root: join(tmpdir(), 'llem-no-such-powercap') }).probe();
    expect(probe).toMatchObject({ available: false, devices: [] });
    expect(probe.reason).toContain('no powercap interface');
  });
});
