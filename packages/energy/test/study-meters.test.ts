/**
 * A study whose experiments ask for different GPUs and samplers is measured as each asks: the real
 * composition root (createLlem) and local executor, the echo example backend loaded by path as a
 * plugin module, real workload processes under runner-node, the fs store, and the meter factory
 * on the fake libnvidia-ml.so.1 (real koffi binding) with a fake /proc for the CPU estimate.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ExperimentResult, ExperimentResultSchema, PluginRegistry } from '@llem/core';
import { builtinPlugins, createLlem } from '@llem/core/orchestration';
import { ProcessGroupRunner } from '@llem/runner-node';
import { createFsStateStore } from '@llem/state-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnergyMeterFactory } from '../src/meter-factory.js';
import { fakeNvmlInits, fakeTwoGpuMachine } from './fixtures/fake-nvml.js';

/** The echo example backend, as a user's `plugins:` entry would name it. */
const ECHO_PLUGIN = fileURLToPath(new URL('../../../examples/plugin-echo/src/index.ts', import.meta.url));

let dir = '';
let nvmlLibrary = '';
let procRoot = '';

beforeAll(async () => {
  ({ dir, nvmlLibrary, procRoot } = await fakeTwoGpuMachine('llem-study-meters-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const study = {
  name: 'meters-per-experiment',
  model: 'echo-model',
  backend: 'echo',
  launch: 'local',
  n: 4,
  echo: { seconds_per_request: 0.05 },
  baseline: { duration_seconds: 0.2, cache_ttl_seconds: 0 },
  energy: { sample_interval_ms: 10, cpu_tdp_watts: 100, min_window_seconds: 0 },
  experiments: [
    { gpus: [0], energy: { samplers: ['nvml'] } },
    { gpus: [1], energy: { samplers: ['nvml', 'cpu-estimate'] } },
  ],
  cycles: 2,
  order: 'interleaved',
};

describe('a study whose experiments ask for different GPUs and samplers', () => {
  it('measures each experiment with its own meter, made once and reused across cycles', async () => {
    const meters = createEnergyMeterFactory({ nvmlLibrary, procRoot, raplRoot: '/nonexistent/powercap' });
    const registry = new PluginRegistry({ builtins: builtinPlugins(), modules: [ECHO_PLUGIN] });
    const store = await createFsStateStore({ dir: join(dir, 'state') });
    const llem = await createLlem({
      store,
      registry,
      runner: new ProcessGroupRunner(),
      meters,
      resultsDir: join(dir, 'results'),
    });
    const inits = fakeNvmlInits(nvmlLibrary);
    const results = new Map<string, ExperimentResult>();
    try {
      const plan = await llem.plan(study);
      expect(plan.experiments.map((e) => e.config.gpus)).toEqual([[0], [1]]);
      const summary = await llem.runStudy(plan, {
        onProgress: (event) => {
          if (event.type === 'result') results.set(event.experimentId, event.result);
        },
      });
      expect(summary.runs.map((r) => r.status)).toEqual(['done', 'done', 'done', 'done']);

      const byExperiment = new Map<number, ExperimentResult[]>();
      for (const run of plan.runs) {
        const entry = summary.runs.find((r) => r.experimentId === run.experimentId)!;
        // The committed result.json says what the in-memory result says (as JSON: -0 is written 0).
        const onDisk = ExperimentResultSchema.parse(JSON.parse(await readFile(entry.resultPath!, 'utf8')));
        expect(onDisk.energy).toEqual(JSON.parse(JSON.stringify(results.get(run.experimentId)!.energy)));
        byExperiment.set(run.experimentIndex, [...(byExperiment.get(run.experimentIndex) ?? []), onDisk]);
      }
      const measured = (result: ExperimentResult) =>
        result.energy?.devices.map((d) => ({ device: d.device_id, sampler: d.sampler })) ?? null;

      // Experiment A: gpus [0], samplers [nvml] -> GPU 0 through NVML, nothing else.
      for (const result of byExperiment.get(0)!)
        expect(measured(result)).toEqual([{ device: 'gpu0', sampler: 'nvml' }]);
      // Experiment B: gpus [1], samplers [nvml, cpu-estimate] -> GPU 1 and the CPU estimate.
      for (const result of byExperiment.get(1)!) {
        expect(measured(result)).toEqual([
          { device: 'gpu1', sampler: 'nvml' },
          { device: expect.stringMatching(/^cpu/), sampler: 'cpu-estimate' },
        ]);
        const cpu = result.energy!.devices.find((d) => d.sampler === 'cpu-estimate')!;
        expect(cpu.source).toBe('estimate');
      }
      for (const results of byExperiment.values()) expect(results).toHaveLength(2);

      // Two meters for four runs: each experiment's meter was made in cycle 1 and reused in cycle 2,
      // and each initialised NVML once (its probes are kept).
      expect(meters.size).toBe(2);
      const after = fakeNvmlInits(nvmlLibrary);
      expect(after.calls - inits.calls).toBe(2);
      expect(after.open - inits.open).toBe(2);
    } finally {
      await llem.close();
    }
    // llem.close() closes the meter factory: both meters released NVML.
    expect(fakeNvmlInits(nvmlLibrary).open).toBe(inits.open);
  });
});
