import { defineProject } from 'vitest/config';
import { sharedTestConfig } from '../../vitest.shared.js';

// One real Slurm cluster for the whole suite (test/cluster/global-setup.ts); files run one at a
// time because they share its two CPUs and two fake GPUs.
export default defineProject(
  sharedTestConfig(import.meta.url, {
    globalSetup: ['test/cluster/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
  }),
);
