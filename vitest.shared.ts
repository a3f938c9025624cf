import { fileURLToPath } from 'node:url';
import type { UserWorkspaceConfig } from 'vitest/config';

/** One vitest setup for every package: tests run on sources via the `dev-source` export condition. */
export function sharedTestConfig(
  configUrl: string,
  overrides: UserWorkspaceConfig['test'] = {},
): UserWorkspaceConfig {
  const root = fileURLToPath(new URL('.', configUrl));
  return {
    root,
    ssr: { resolve: { conditions: ['dev-source'] } },
    test: {
      include: ['test/**/*.test.ts'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      ...overrides,
    },
  };
}
