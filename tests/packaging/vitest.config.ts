import { defineProject } from 'vitest/config';
import { sharedTestConfig } from '../../vitest.shared.js';

// Packs, installs with npm and runs the installed llem: slow, and one file.
export default defineProject(
  sharedTestConfig(import.meta.url, {
    name: 'packaging',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
  }),
);
