import { join } from 'node:path';
import { definePlugin } from '@llem/core';
import { createEnergyMeterFactory } from './meter-factory.js';

/**
 * The energy meters of a composition: a meter per experiment (its `energy` section and GPU set),
 * idle baselines cached under `<state dir>/baselines`, and a Slurm job's GPUs for experiments
 * that name none.
 */
export default definePlugin({
  kind: 'energy',
  name: 'default',
  create: (options) =>
    createEnergyMeterFactory({
      cacheDir: options?.dir ? join(options.dir, 'baselines') : undefined,
      defaultGpuIndices: options?.gpuIndices ?? null,
    }),
});
