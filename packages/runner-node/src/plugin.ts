import { definePlugin } from '@llem/core';
import { ProcessGroupRunner } from './process-group-runner.js';

/** The `local` runner: a process group per workload, with the watchdog. */
export default definePlugin({
  kind: 'runner',
  name: 'local',
  create: () => new ProcessGroupRunner(),
});
