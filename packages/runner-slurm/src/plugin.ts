import { definePlugin } from '@llem/core';
import { parseJobShape } from './job-shape.js';
import { SlurmRunner } from './slurm-runner.js';

/** Found by name: `--runner slurm` (built into the CLI) or the package itself as a plugin module. */
export default definePlugin({
  kind: 'runner',
  name: 'slurm',
  create: (options) => new SlurmRunner({ shape: parseJobShape(options?.shape ?? {}) }),
});
