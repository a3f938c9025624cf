import { defineProject } from 'vitest/config';
import { sharedTestConfig } from '../../vitest.shared.js';

// `pnpm test:docker-image`: the shipped Dockerfile built for real, torch and all (minutes, GBs).
// Not in the root projects (tests/*/vitest.config.ts), so not in every CI run.
export default defineProject(
  sharedTestConfig(import.meta.url, {
    name: 'docker-image',
    include: ['image/**/*.test.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 1_200_000,
  }),
);
