import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Config-file globs, not folder globs: examples/ also holds YAML files, which vitest refuses as projects.
    projects: ['packages/*/vitest.config.ts', 'examples/*/vitest.config.ts', 'tests/*/vitest.config.ts'],
  },
});
