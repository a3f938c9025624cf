import {
  type DoctorCheck,
  EnergyConfigSchema,
  type EnergyMeterFactory,
  type ExperimentConfigBase,
  type ProbeResult,
} from '@llem/core';
import { type CreateEnergyMeterOptions, createEnergyMeter, type SamplingEnergyMeter } from './meter.js';
import { SAMPLER_NAMES, SAMPLERS } from './samplers.js';

export interface EnergyMeterFactoryOptions extends Omit<CreateEnergyMeterOptions, 'gpuIndices'> {
  /**
   * GPUs to measure for an experiment whose `gpus` is null: e.g. the GPUs of a Slurm job's
   * allocation (node-level indices). Default: every visible GPU.
   */
  defaultGpuIndices?: readonly number[] | null;
}

export interface ClosableEnergyMeterFactory extends EnergyMeterFactory {
  /** Stops every meter it made and releases their samplers (NVML shutdown). */
  close(): Promise<void>;
  /** How many distinct meters it has made (one per energy section + GPU set). */
  readonly size: number;
}

/** One doctor line per sampler, in the sampler table's order (createEnergyMeter probes them so). */
function samplerChecks(probes: readonly ProbeResult[]): DoctorCheck[] {
  return probes.map((probe, i) => {
    const samplerName = SAMPLER_NAMES[i];
    const name = samplerName ? SAMPLERS[samplerName].title : `sampler ${i}`;
    const devices = probe.devices.map((d) => d.name).join(', ');
    const notes = probe.notes?.length ? ` (${probe.notes.join('; ')})` : '';
    if (probe.available) return { name, status: 'ok', detail: `${devices || 'available'}${notes}` };
    // Missing GPU counters or RAPL only lower what can be measured; llem still runs.
    return {
      name,
      status: 'warn',
      detail: probe.reason ?? 'not available',
      ...(probe.fix ? { fix: probe.fix } : {}),
    };
  });
}

/** The key of a meter made only to read temperatures (before any experiment asked for one). */
const TEMPERATURES_ONLY = '(temperatures)';

/**
 * A meter per experiment, as each asks: the meter is built from the experiment's own `energy`
 * section (samplers, interval, thresholds, TDP) and GPU set, and kept for every later experiment
 * that asks for the same (an interleaved study alternates between a few: each keeps its probes and
 * its baseline cache key). A study mixing GPU sets or sampler lists is measured as each experiment
 * says, never the first experiment's way.
 */
export function createEnergyMeterFactory(
  options: EnergyMeterFactoryOptions = {},
): ClosableEnergyMeterFactory {
  const meters = new Map<string, SamplingEnergyMeter>();
  let last: SamplingEnergyMeter | null = null;
  const { defaultGpuIndices, ...meterOptions } = options;
  return {
    meterFor(config: Pick<ExperimentConfigBase, 'energy' | 'gpus'>) {
      if (!config.energy.enabled) return null;
      const gpuIndices = config.gpus ?? defaultGpuIndices ?? undefined;
      const key = JSON.stringify([config.energy, gpuIndices ?? null]);
      let meter = meters.get(key);
      if (!meter) {
        meter = createEnergyMeter(config.energy, { ...meterOptions, gpuIndices });
        meters.set(key, meter);
      }
      last = meter;
      return meter;
    },
    async temperatures() {
      // The GPUs measured last are the ones a cool-down waits for.
      let meter = last ?? meters.get(TEMPERATURES_ONLY);
      if (!meter) {
        meter = createEnergyMeter(EnergyConfigSchema.parse({}), {
          ...meterOptions,
          gpuIndices: defaultGpuIndices ?? undefined,
        });
        meters.set(TEMPERATURES_ONLY, meter);
      }
      return meter.temperatures();
    },
    async doctor() {
      const meter = createEnergyMeter(EnergyConfigSchema.parse({}), {
        ...meterOptions,
        gpuIndices: defaultGpuIndices ?? undefined,
      });
      try {
        return samplerChecks(await meter.probe());
      } finally {
        await meter.close();
      }
    },
    async close() {
      await Promise.all([...meters.values()].map((meter) => meter.close()));
      meters.clear();
      last = null;
    },
    get size() {
      return [...meters.keys()].filter((key) => key !== TEMPERATURES_ONLY).length;
    },
  };
}
