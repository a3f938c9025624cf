/**
 * `pnpm bench energy`: what NVML sampling costs the llem process, with the fake libnvidia-ml.so.1
 * (compiled here with gcc) behind the real koffi binding. CPU time per second of sampling at 10 Hz
 * and 100 Hz, and the event-loop delay it causes; the baseline is the same process idle.
 * The fake answers in ~1 µs, so this measures our side (FFI + JS); a real driver adds its own time.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { NvmlSampler } from '@llem/energy';
import { compileFakeNvml, writeFakeNvmlScript } from '../../packages/energy/test/fixtures/fake-nvml.js';
import type { BenchRow, BenchSuite } from '../types.js';

const SECONDS = 3;

interface Cost {
  cpuPctOfCore: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/** CPU use (% of one core) and event-loop delay while `during` runs for SECONDS. */
async function measure(start: () => Promise<void>, stop: () => Promise<unknown>): Promise<Cost> {
  await start();
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await sleep(SECONDS * 1000);
  const cpu = process.cpuUsage(cpu0);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  h.disable();
  await stop();
  return {
    cpuPctOfCore: ((cpu.user + cpu.system) / wallUs) * 100,
    loopDelayP99Ms: h.percentile(99) / 1e6,
    loopDelayMaxMs: h.max / 1e6,
  };
}

export const suite: BenchSuite = {
  name: 'energy',
  async run(): Promise<BenchRow[]> {
    const dir = await mkdtemp(join(tmpdir(), 'llem-bench-nvml-'));
    const libraryPath = await compileFakeNvml(dir);
    const script = join(dir, 'script.txt');
    process.env.FAKE_NVML_SCRIPT = script;
    const gpu = (i: number) => ({ name: `Fake-H100-${i}`, uuid: `GPU-${i}`, powerW: 300 });

    const idle = await measure(
      async () => {},
      async () => {},
    );
    const rows: BenchRow[] = [];
    const cases = [
      { gpus: 1, hz: 10, target: 1 },
      { gpus: 1, hz: 100, target: undefined },
      { gpus: 8, hz: 100, target: undefined },
    ];
    for (const c of cases) {
      await writeFakeNvmlScript(script, { devices: Array.from({ length: c.gpus }, (_, i) => gpu(i)) });
      const sampler = new NvmlSampler({ libraryPath, intervalMs: 1000 / c.hz });
      let readings = 0;
      const cost = await measure(
        () => sampler.start(),
        async () => {
          readings = (await sampler.stop()).devices[0]?.readings.length ?? 0;
        },
      );
      sampler.close();
      const label = `${c.gpus} GPU${c.gpus > 1 ? 's' : ''} @ ${c.hz} Hz`;
      rows.push({
        suite: 'energy',
        name: `NVML sampling CPU, ${label} (${readings} readings/device in ${SECONDS} s)`,
        value: cost.cpuPctOfCore,
        unit: '% of a core',
        baseline: { name: 'idle process', value: idle.cpuPctOfCore },
        ...(c.target !== undefined
          ? { target: `< ${c.target} % above idle`, ok: cost.cpuPctOfCore - idle.cpuPctOfCore < c.target }
          : {}),
      });
      // CPU above idle spread over the ticks: an upper bound on how long one tick holds the event loop.
      const ticks = Math.max(1, readings);
      rows.push({
        suite: 'energy',
        name: `CPU time per sampling tick above idle, ${label}`,
        value: (((cost.cpuPctOfCore - idle.cpuPctOfCore) / 100) * SECONDS * 1e6) / ticks,
        unit: 'µs',
      });
      rows.push({
        suite: 'energy',
        name: `event-loop delay p99 while sampling, ${label} (max ${cost.loopDelayMaxMs.toFixed(2)} ms)`,
        value: cost.loopDelayP99Ms,
        unit: 'ms',
        baseline: { name: 'idle p99', value: idle.loopDelayP99Ms },
      });
    }
    // The synchronous part alone: how long one tick holds the event loop (timer wake-ups excluded).
    for (const gpus of [1, 8]) {
      await writeFakeNvmlScript(script, { devices: Array.from({ length: gpus }, (_, i) => gpu(i)) });
      const sampler = new NvmlSampler({ libraryPath, intervalMs: 60_000 });
      await sampler.start();
      const n = 5000;
      for (let i = 0; i < 500; i++) sampler.sampleNow();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) sampler.sampleNow();
      const perTickUs = Number(process.hrtime.bigint() - t0) / n / 1000;
      await sampler.stop();
      sampler.close();
      rows.push({
        suite: 'energy',
        name: `synchronous NVML tick (energy, power + 5 aux fields), ${gpus} GPU${gpus > 1 ? 's' : ''}`,
        value: perTickUs,
        unit: 'µs',
        target: '< 1000 µs',
        ok: perTickUs < 1000,
      });
    }
    return rows;
  },
};
