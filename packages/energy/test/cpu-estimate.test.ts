/** CpuEstimateSampler on a fake /proc tree: TDP x utilisation, labelled as an estimate. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CpuEstimateSampler, parseCpuInfo, parseProcStat, utilisation } from '../src/cpu/estimate.js';

const cpuinfo = (model: string, sockets: number) =>
  Array.from(
    { length: sockets * 2 },
    (_, i) => `processor\t: ${i}\nmodel name\t: ${model}\nphysical id\t: ${i % sockets}\n`,
  ).join('\n');

/** user nice system idle iowait irq softirq steal */
const stat = (busy: number, idle: number) =>
  `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 ${busy} 0 0 ${idle} 0 0 0 0 0 0\nintr 1\n`;

async function fakeProc(model: string, sockets = 1): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'llem-proc-'));
  await writeFile(join(root, 'cpuinfo'), cpuinfo(model, sockets));
  await writeFile(join(root, 'stat'), stat(1000, 1000));
  return root;
}

describe('/proc parsing', () => {
  it('reads utilisation with iowait counted as idle', () => {
    const a = parseProcStat('cpu  100 0 50 800 50 0 0 0 0 0\n');
    const b = parseProcStat('cpu  400 0 50 1000 150 0 0 0 0 0\n');
    expect(a).toEqual({ busy: 150, total: 1000 });
    expect(utilisation(a, b)).toBeCloseTo(0.5, 12);
    expect(() => parseProcStat('intr 1\n')).toThrow(/no aggregate/);
  });

  it('reads the model and counts sockets', () => {
    expect(parseCpuInfo(cpuinfo('AMD EPYC 7763 64-Core Processor', 2))).toEqual({
      model: 'AMD EPYC 7763 64-Core Processor',
      sockets: 2,
    });
  });
});

describe('CpuEstimateSampler', () => {
  it('estimates TDP x utilisation and labels it an estimate', async () => {
    const root = await fakeProc('Mystery CPU');
    const s = new CpuEstimateSampler({ procRoot: root, tdpWatts: 200, intervalMs: 10 });
    const probe = await s.probe();
    expect(probe.devices[0]?.name).toContain('estimate');
    expect(probe.notes?.[0]).toContain('ESTIMATE');
    expect(s.estimated).toBe(true);
    await s.start();
    await sleep(30);
    // 75 % busy from here on: each later interval sees busy/total = 3/4.
    await writeFile(join(root, 'stat'), stat(1000 + 300, 1000 + 100));
    const t = await s.stop();
    expect(t.devices[0]?.source).toBe('estimate');
    const powers = t.devices[0]?.readings.map((r) => r.powerW).filter((p) => p !== undefined);
    expect(powers?.at(-1)).toBeCloseTo(150, 9);
    expect(powers?.slice(0, -1).every((p) => p === 0)).toBe(true);
  });

  it('takes the TDP from the model table per socket', async () => {
    const probe = await new CpuEstimateSampler({
      procRoot: await fakeProc('AMD EPYC 7763 64-Core Processor', 2),
    }).probe();
    expect(probe.devices[0]?.name).toContain('560 W');
    expect(probe.notes?.[0]).toContain('built-in TDP table');
  });

  it('refuses an unknown CPU without a configured TDP, naming the field', async () => {
    const probe = await new CpuEstimateSampler({ procRoot: await fakeProc('Mystery CPU') }).probe();
    expect(probe.available).toBe(false);
    expect(probe.fix).toContain('energy.cpu_tdp_watts');
  });
});
