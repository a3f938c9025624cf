import { defineProject } from 'vitest/config';
import { sharedTestConfig } from '../../vitest.shared.js';

// The tests drive the BUILT `llem` binary: the global setup builds it (and its dependencies) first.
export default defineProject(
  sharedTestConfig(import.meta.url, { globalSetup: ['test/global-setup.ts'], testTimeout: 240_000 }),
);
