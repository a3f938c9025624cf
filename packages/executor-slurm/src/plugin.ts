import { definePlugin, isMapping } from '@llem/core';
import { SlurmExecutor } from './executor.js';
import { loadJobShape } from './job-shape.js';

/**
 * `--executor slurm`. Its options (plugin option `executor`): `config`, a job-shape file (YAML or
 * JSON), then any job-shape key (partition, account, qos, time, gpus_per_experiment, gpu_option,
 * cpus_per_task, mem, sbatch, array, array_limit, poll_seconds) over it.
 */
export default definePlugin({
  kind: 'executor',
  name: 'slurm',
  create: (options) => {
    const { config, ...shape } = isMapping(options?.executor) ? options.executor : {};
    return new SlurmExecutor(loadJobShape(typeof config === 'string' ? config : undefined, shape));
  },
});
