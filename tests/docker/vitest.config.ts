import { defineProject } from 'vitest/config';
import { sharedTestConfig } from '../../vitest.shared.js';

// One file at a time: every test drives the built llem against one private dockerd.
export default defineProject(
  sharedTestConfig(import.meta.url, {
    name: 'docker',
    globalSetup: ['test/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 1_200_000,
  }),
);
