/**
 * Other processes on the measured GPUs: the fake libnvidia-ml.so.1 lists scripted compute
 * processes whose pids are real processes started here, so ancestry is read from the real /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnergyConfigSchema } from '@llem/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnergyMeter } from '../src/meter.js';
import { NvmlSampler } from '../src/nvml/sampler.js';
import type { EnergyDeviceTrace } from '../src/types.js';
import {
  compileFakeNvml,
  type FakeGpuProcess,
  type FakeNvmlScript,
  type FakeNvmlVariant,
  writeFakeNvmlScript,
} from './fixtures/fake-nvml.js';

let dir = '';
const libraries: Partial<Record<FakeNvmlVariant, string>> = {};
const children: ChildProcess[] = [];
const GiB = 2 ** 30;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llem-gpu-proc-'));
  for (const variant of ['full', 'v1-processes', 'no-processes'] as const)
    libraries[variant] = await compileFakeNvml(dir, variant);
});

afterAll(() => {
  for (const child of children) if (child.pid) process.kill(-child.pid, 'SIGKILL');
});

/** A workload-like process: its own session and process group, as the Runner starts it. */
function startDetached(script: string): number {
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  children.push(child);
  if (!child.pid) throw new Error('spawn failed');
  return child.pid;
}

async function childOf(pid: number): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    if (text) return Number(text.split(' ')[0]);
    await sleep(5);
  }
  throw new Error(`pid ${pid} has no child`);
}

const gpu = { name: 'Fake-H100', uuid: 'GPU-aaaa', powerW: 200 };

/** Runs the meter around a short window with these processes on gpu0; returns the quality warnings. */
async function measure(
  script: Omit<FakeNvmlScript, 'devices'>,
  options: { workloadPids?: number[]; variant?: FakeNvmlVariant } = {},
) {
  const scriptPath = join(dir, `script-${Math.random().toString(36).slice(2)}.txt`);
  await writeFakeNvmlScript(scriptPath, { devices: [gpu], ...script });
  process.env.FAKE_NVML_SCRIPT = scriptPath;
  const meter = createEnergyMeter(
    EnergyConfigSchema.parse({ sample_interval_ms: 10, samplers: ['nvml'], min_window_seconds: 0 }),
    { nvmlLibrary: libraries[options.variant ?? 'full'] },
  );
  await meter.start();
  if (options.workloadPids) meter.setWorkloadPids(options.workloadPids);
  await sleep(30);
  const startNs = process.hrtime.bigint();
  await sleep(150);
  const endNs = process.hrtime.bigint();
  await sleep(20);
  const result = meter.integrate(await meter.stop(), { startNs, endNs }, null);
  await meter.close();
  expect(result.devices[0]?.energy_j).toBeGreaterThan(0); // energy is measured whatever the processes
  return result.quality.warnings;
}

describe('foreign processes on a measured GPU', () => {
  it('a process outside the workload tree during the window is a warning naming its pid and memory', async () => {
    const workload = startDetached('sleep 30');
    const foreign = startDetached('sleep 30');
    const warnings = await measure(
      {
        processes: [
          { device: 0, pid: workload, usedMemoryBytes: 1 * GiB },
          { device: 0, pid: foreign, usedMemoryBytes: 2 * GiB },
        ],
      },
      { workloadPids: [workload] },
    );
    const found = warnings.filter((w) => w.code === 'foreign_gpu_process');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ severity: 'warn', device_id: 'gpu0' });
    expect(found[0]?.message).toContain(`pid ${foreign} (2.0 GiB)`);
    expect(found[0]?.message).not.toContain(`pid ${workload} `);
  });

  it('the workload and its descendants are not flagged', async () => {
    // In its own session and group: only the ppid chain ties it to the workload.
    const workload = startDetached('setsid sleep 30 & wait');
    const grandchild = await childOf(workload);
    const groupAndSession = () => {
      const own = readFileSync(`/proc/${grandchild}/stat`, 'utf8');
      return own
        .slice(own.lastIndexOf(')') + 2)
        .split(' ')
        .slice(2, 4);
    };
    // setsid runs just after the fork: wait for it.
    for (let i = 0; i < 200 && groupAndSession()[1] !== `${grandchild}`; i++) await sleep(5);
    expect(groupAndSession()).toEqual([`${grandchild}`, `${grandchild}`]);
    const warnings = await measure(
      {
        processes: [
          { device: 0, pid: workload, usedMemoryBytes: null },
          { device: 0, pid: grandchild, usedMemoryBytes: GiB },
        ],
      },
      { workloadPids: [workload] },
    );
    expect(warnings.map((w) => w.code)).not.toContain('foreign_gpu_process');
    expect(warnings.map((w) => w.code)).not.toContain('gpu_processes_unattributed');
  });

  it('a pid /proc does not show (another pid namespace) is noted at info, not flagged', async () => {
    const workload = startDetached('sleep 30');
    const hidden = 2 ** 22 + 7;
    const warnings = await measure(
      { processes: [{ device: 0, pid: hidden, usedMemoryBytes: null }] },
      { workloadPids: [workload] },
    );
    expect(warnings.map((w) => w.code)).not.toContain('foreign_gpu_process');
    const note = warnings.find((w) => w.code === 'gpu_processes_unattributed');
    expect(note).toMatchObject({ severity: 'info' });
    expect(note?.message).toContain(`pid ${hidden} (memory n/a)`);
  });

  it('without workload pids (Docker) processes are only noted, at info', async () => {
    const warnings = await measure({ processes: [{ device: 0, pid: 4242, usedMemoryBytes: GiB }] });
    expect(warnings.map((w) => w.code)).not.toContain('foreign_gpu_process');
    expect(warnings.find((w) => w.code === 'gpu_processes_unattributed')).toMatchObject({ severity: 'info' });
  });

  it('quality_policy fail makes the finding a failure', async () => {
    const foreign = startDetached('sleep 30');
    const scriptPath = join(dir, 'fail.txt');
    await writeFakeNvmlScript(scriptPath, {
      devices: [gpu],
      processes: [{ device: 0, pid: foreign, usedMemoryBytes: GiB }],
    });
    process.env.FAKE_NVML_SCRIPT = scriptPath;
    const meter = createEnergyMeter(
      EnergyConfigSchema.parse({ sample_interval_ms: 10, samplers: ['nvml'], quality_policy: 'fail' }),
      { nvmlLibrary: libraries.full },
    );
    await meter.start();
    meter.setWorkloadPids([startDetached('sleep 30')]);
    const startNs = process.hrtime.bigint();
    await sleep(50);
    const result = meter.integrate(await meter.stop(), { startNs, endNs: process.hrtime.bigint() }, null);
    await meter.close();
    expect(result.quality.warnings.find((w) => w.code === 'foreign_gpu_process')?.severity).toBe('fail');
    expect(result.quality.ok).toBe(false);
  });
});

describe('drivers that cannot list processes', () => {
  it('a library without the process functions: no crash, energy measured, noted at info', async () => {
    const warnings = await measure(
      { processes: [{ device: 0, pid: 4242, usedMemoryBytes: GiB }] },
      { workloadPids: [process.pid], variant: 'no-processes' },
    );
    const note = warnings.find((w) => w.code === 'gpu_processes_unknown');
    expect(note).toMatchObject({ severity: 'info', device_id: 'gpu0' });
    expect(note?.message).toContain('not exported');
    expect(warnings.map((w) => w.code)).not.toContain('foreign_gpu_process');
  });

  it('NVML_ERROR_NOT_SUPPORTED: noted, nothing flagged', async () => {
    const warnings = await measure(
      { processesRc: 3, processes: [{ device: 0, pid: 4242, usedMemoryBytes: GiB }] },
      { workloadPids: [process.pid] },
    );
    expect(warnings.find((w) => w.code === 'gpu_processes_unknown')?.message).toContain('Not Supported');
    expect(warnings.map((w) => w.code)).not.toContain('foreign_gpu_process');
  });
});

describe('process listing through the binding', () => {
  // More processes than the first buffer holds (8): NVML answers INSUFFICIENT_SIZE and the buffer grows.
  const many: FakeGpuProcess[] = Array.from({ length: 11 }, (_, i) => ({
    device: i % 2,
    pid: 1000 + i,
    usedMemoryBytes: i === 3 ? null : (i + 1) * 2 ** 20,
  }));
  const many0 = [
    ...many,
    ...Array.from({ length: 9 }, (_, i) => ({ device: 0, pid: 2000 + i, usedMemoryBytes: 5 })),
  ];

  for (const variant of ['full', 'v1-processes'] as const) {
    it(`${variant}: decodes every process of each GPU, growing the buffer when NVML asks`, async () => {
      const scriptPath = join(dir, `list-${variant}.txt`);
      await writeFakeNvmlScript(scriptPath, {
        devices: [gpu, { ...gpu, uuid: 'GPU-bbbb' }],
        processes: many0,
      });
      process.env.FAKE_NVML_SCRIPT = scriptPath;
      const sampler = new NvmlSampler({ libraryPath: libraries[variant], intervalMs: 10 });
      await sampler.start();
      const trace = await sampler.stop();
      sampler.close();
      const seen = (trace.devices as EnergyDeviceTrace[]).map((d) =>
        (d.processes?.samples ?? []).map((p) => ({
          device: d.device.index,
          pid: p.pid,
          usedMemoryBytes: p.usedMemoryBytes,
        })),
      );
      // Listed at the first tick and at the final one.
      const expected = (device: number) => many0.filter((p) => p.device === device);
      expect(seen[0]).toEqual([...expected(0), ...expected(0)]);
      expect(seen[1]).toEqual([...expected(1), ...expected(1)]);
    });
  }
});
