import { createRequire } from 'node:module';
import { describeExecutorContract } from '@llem/core/testing';
import { ProcessGroupRunner } from '@llem/runner-node';
import { createFsStateStore } from '@llem/state-fs';
import { parseJobShape, SlurmExecutor } from '../src/index.js';
import { fixtureLlem } from './helpers.js';

// The script backend as the jobs load it: its built module (they run plain JavaScript).
const scriptBackend = createRequire(import.meta.url).resolve('@llem/core/testing/script-backend');

// Every run is a real Slurm job on the test cluster, running `llem exec` (the executor's own
// `exec`, see fixtures/exec-job.ts) on its node.
describeExecutorContract(
  'slurm',
  () => ({
    executor: () => new SlurmExecutor(parseJobShape({ poll_seconds: 0.3 })),
    store: async (dir) => ({ store: await createFsStateStore({ dir }), location: { name: 'fs', dir } }),
    runner: new ProcessGroupRunner(),
    plugins: [scriptBackend],
    llemCommand: fixtureLlem,
  }),
  { timeoutMs: 120_000 },
);
