/**
 * The sampler table: every energy sampler llem has, under the name users write in
 * `energy.samplers`, in precedence order (what `auto` tries first comes first). A meter is built
 * from this table (createEnergyMeter) and `llem doctor` prints one line per entry.
 *
 * To add a sampler: a class implementing `EnergySampler` (probe, start, stop -> readings), an
 * entry here, and its name in `ENERGY_SAMPLERS` of @llem/core (the config schema accepts only
 * those). Test it through its real interface against a fake source, as the NVML sampler is
 * tested against a fake libnvidia-ml.so.1 (test/fixtures/fake-nvml.c).
 */
import type { Clock, EnergySampler, EnergySamplerName, ExperimentConfigBase } from '@llem/core';
import { CpuEstimateSampler } from './cpu/estimate.js';
import { NvmlSampler } from './nvml/sampler.js';
import { RaplSampler, type ReadText } from './rapl/sampler.js';
import { SimulatedSampler } from './simulated/sampler.js';

/** The resolved `energy` section of an experiment config. */
export type EnergyConfig = ExperimentConfigBase['energy'];

/** Where the samplers read from: each option is for the sampler that names it. */
export interface SamplerSources {
  /** libnvidia-ml path; default env LLEM_NVML_LIBRARY, else libnvidia-ml.so.1. */
  nvmlLibrary?: string;
  /** GPU indices to measure; default all. */
  gpuIndices?: readonly number[];
  /** powercap root; default /sys/class/powercap. */
  raplRoot?: string;
  raplReadText?: ReadText;
  /** /proc root for the CPU estimate; default /proc. */
  procRoot?: string;
  env?: NodeJS.ProcessEnv;
}

/** What a sampler is built from: the experiment's energy section, its sources and the clock. */
export interface SamplerContext {
  config: EnergyConfig;
  sources: SamplerSources;
  clock: Clock;
}

export interface SamplerEntry {
  /** Its line in `llem doctor`. */
  readonly title: string;
  create(context: SamplerContext): EnergySampler;
}

/** Every sampler by name, in precedence order. */
export const SAMPLERS: Readonly<Record<EnergySamplerName, SamplerEntry>> = {
  nvml: {
    title: 'GPU energy (NVML counters)',
    create: ({ config, sources, clock }) =>
      new NvmlSampler({
        libraryPath: sources.nvmlLibrary,
        devices: sources.gpuIndices,
        intervalMs: config.sample_interval_ms,
        clock,
        env: sources.env,
      }),
  },
  rapl: {
    title: 'CPU energy (RAPL)',
    create: ({ config, sources, clock }) =>
      new RaplSampler({
        root: sources.raplRoot,
        readText: sources.raplReadText,
        intervalMs: config.sample_interval_ms,
        clock,
      }),
  },
  'cpu-estimate': {
    title: 'CPU estimate (TDP x utilisation)',
    create: ({ config, sources, clock }) =>
      new CpuEstimateSampler({
        procRoot: sources.procRoot,
        tdpWatts: config.cpu_tdp_watts,
        intervalMs: config.sample_interval_ms,
        clock,
      }),
  },
  simulated: {
    title: 'Simulated GPU (no real device)',
    create: ({ config, clock }) =>
      new SimulatedSampler({ config: config.simulated, intervalMs: config.sample_interval_ms, clock }),
  },
};

/** The sampler names in precedence order. */
export const SAMPLER_NAMES = Object.keys(SAMPLERS) as EnergySamplerName[];

/** Samplers that run only when `energy.samplers` names them: `auto` never picks them. */
export const EXPLICIT_ONLY: ReadonlySet<EnergySamplerName> = new Set(['simulated']);

/**
 * One sampler of each kind for this energy section, in precedence order (a meter picks among
 * them). The simulated sampler is made only when the section names it (last in the table, so the
 * others keep their places).
 */
export function createSamplers(context: SamplerContext): EnergySampler[] {
  const named = context.config.samplers === 'auto' ? [] : context.config.samplers;
  return SAMPLER_NAMES.filter((name) => !EXPLICIT_ONLY.has(name) || named.includes(name)).map((name) =>
    SAMPLERS[name].create(context),
  );
}
