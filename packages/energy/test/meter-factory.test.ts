/**
 * createEnergyMeterFactory: a meter per experiment (energy section + GPU set), on the fake
 * libnvidia-ml.so.1 through the real koffi binding and a fake /proc for the CPU estimate.
 */
import { EnergyConfigSchema, type EnergyMeter, type ExperimentConfigBase } from '@llem/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ClosableEnergyMeterFactory, createEnergyMeterFactory } from '../src/meter-factory.js';
import { SAMPLER_NAMES } from '../src/samplers.js';
import { fakeNvmlInits, fakeTwoGpuMachine } from './fixtures/fake-nvml.js';

let nvmlLibrary = '';
let procRoot = '';

beforeAll(async () => {
  ({ nvmlLibrary, procRoot } = await fakeTwoGpuMachine('llem-meter-factory-'));
});

const factories: ClosableEnergyMeterFactory[] = [];
afterEach(async () => {
  for (const factory of factories.splice(0)) await factory.close();
});

function factory(options: { defaultGpuIndices?: readonly number[] | null } = {}) {
  const made = createEnergyMeterFactory({
    nvmlLibrary,
    procRoot,
    raplRoot: '/nonexistent/powercap',
    ...options,
  });
  factories.push(made);
  return made;
}

type MeteredConfig = Pick<ExperimentConfigBase, 'energy' | 'gpus'>;
function experiment(gpus: number[] | null, energy: Record<string, unknown> = {}): MeteredConfig {
  return {
    gpus,
    energy: EnergyConfigSchema.parse({ sample_interval_ms: 10, cpu_tdp_watts: 100, ...energy }),
  };
}

/** The GPUs a meter's NVML sampler measures, as its probe reports them. */
async function gpusOf(meter: EnergyMeter | null): Promise<string[]> {
  if (!meter?.probe) throw new Error('no meter');
  const probes = await meter.probe();
  return probes[SAMPLER_NAMES.indexOf('nvml')]!.devices.map((d) => d.id);
}

describe('createEnergyMeterFactory', () => {
  it('reuses the meter while the energy section and the GPU set are unchanged', async () => {
    const meters = factory();
    const first = meters.meterFor(experiment([0], { samplers: ['nvml'] }));
    // An equal section from another config object (the next cycle's experiment) is the same measurement.
    const again = meters.meterFor(experiment([0], { samplers: ['nvml'] }));
    expect(first).not.toBeNull();
    expect(again).toBe(first);
    expect(meters.size).toBe(1);
  });

  it('makes a new meter when the energy section changes', async () => {
    const meters = factory();
    const base = meters.meterFor(experiment([0]));
    const others = [
      meters.meterFor(experiment([0], { samplers: ['nvml', 'cpu-estimate'] })),
      meters.meterFor(experiment([0], { sample_interval_ms: 20 })),
      meters.meterFor(experiment([0], { cpu_tdp_watts: 150 })),
      meters.meterFor(experiment([0], { quality_policy: 'fail' })),
    ];
    expect(new Set([base, ...others]).size).toBe(5);
    expect(meters.size).toBe(5);
    // Each keeps its own: asking for the first section again gives the first meter back.
    expect(meters.meterFor(experiment([0]))).toBe(base);
    expect(meters.size).toBe(5);
  });

  it('makes a new meter when the GPU set changes, measuring only those GPUs', async () => {
    const meters = factory();
    const gpu0 = meters.meterFor(experiment([0]));
    const gpu1 = meters.meterFor(experiment([1]));
    const both = meters.meterFor(experiment([0, 1]));
    expect(new Set([gpu0, gpu1, both]).size).toBe(3);
    expect(await gpusOf(gpu0)).toEqual(['gpu0']);
    expect(await gpusOf(gpu1)).toEqual(['gpu1']);
    expect(await gpusOf(both)).toEqual(['gpu0', 'gpu1']);
  });

  it('gives no meter to an experiment whose energy is disabled', () => {
    const meters = factory();
    expect(meters.meterFor(experiment([0], { enabled: false }))).toBeNull();
    expect(meters.size).toBe(0);
  });

  it('measures defaultGpuIndices (a Slurm allocation) for experiments with gpus: null', async () => {
    const meters = factory({ defaultGpuIndices: [1] });
    const unnamed = meters.meterFor(experiment(null));
    expect(await gpusOf(unnamed)).toEqual(['gpu1']);
    // gpus: null on this allocation is the same measurement as naming its GPU.
    expect(meters.meterFor(experiment([1]))).toBe(unnamed);
    // An experiment that names its GPUs gets those, whatever the default.
    expect(await gpusOf(meters.meterFor(experiment([0])))).toEqual(['gpu0']);
    expect(meters.size).toBe(2);
  });

  it('measures every visible GPU for gpus: null without defaultGpuIndices', async () => {
    const meters = factory();
    expect(await gpusOf(meters.meterFor(experiment(null)))).toEqual(['gpu0', 'gpu1']);
  });

  it('close releases every meter it made: NVML shut down once for each init', async () => {
    const before = fakeNvmlInits(nvmlLibrary);
    const meters = factory();
    const a = meters.meterFor(experiment([0]));
    const b = meters.meterFor(experiment([1], { samplers: ['nvml', 'cpu-estimate'] }));
    await gpusOf(a);
    await gpusOf(b);
    // Probing twice more initialises nothing more: a meter keeps its samplers' probes.
    await gpusOf(a);
    await gpusOf(b);
    const held = fakeNvmlInits(nvmlLibrary);
    expect(held.calls - before.calls).toBe(2);
    expect(held.open - before.open).toBe(2);

    await meters.close();
    expect(fakeNvmlInits(nvmlLibrary).open).toBe(before.open);
    expect(meters.size).toBe(0);
    // After close the factory starts afresh: a new meter, not a closed one.
    const next = meters.meterFor(experiment([0]));
    expect(next).not.toBe(a);
    expect(await gpusOf(next)).toEqual(['gpu0']);
    expect(meters.size).toBe(1);
  });
});
