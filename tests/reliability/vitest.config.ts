import { defineProject } from 'vitest/config';
import { sharedTestConfig } from '../../vitest.shared.js';

// Files run one at a time: they spawn many processes and send signals on a small machine.
export default defineProject(
  sharedTestConfig(import.meta.url, {
    name: 'reliability',
    globalSetup: ['test/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 240_000,
  }),
);
