import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeBackendContract } from '@llem/core/testing';
import { ProcessGroupRunner } from '@llem/runner-node';
import { describe, expect, it } from 'vitest';
import plugin, { EchoConfigSchema } from '../src/index.js';

const base = {
  model: 'echo-model',
  backend: 'echo',
  n: 3,
  energy: { enabled: false },
  baseline: { enabled: false },
};

describeBackendContract('echo', async () => ({
  plugin: await plugin.create(),
  runner: new ProcessGroupRunner(),
  validConfig: { ...base, echo: { command: ['true'], seconds_per_request: 0.01 } },
  failingConfig: { ...base, echo: { fail_at: 'window', fail_message: 'disk on fire' } },
  slowConfig: { ...base, n: 40, echo: { seconds_per_request: 0.1 } },
}));

describe('llem-backend-echo', () => {
  it('is a backend plugin named echo', () => {
    expect(plugin).toMatchObject({ kind: 'backend', name: 'echo' });
  });

  it('rejects out-of-range and mistyped echo fields', () => {
    expect(EchoConfigSchema.safeParse({ seconds_per_request: -1 }).success).toBe(false);
    expect(EchoConfigSchema.safeParse({ output_tokens_per_request: 0 }).success).toBe(false);
    expect(EchoConfigSchema.safeParse({ fail_at: 'sometimes' }).success).toBe(false);
    expect(EchoConfigSchema.safeParse({ command: 'true' }).success).toBe(false);
  });

  it('imports nothing but @llem/core, zod and Node built-ins (a third party has no more)', () => {
    const dirs = ['src', 'bin'].map((d) => fileURLToPath(new URL(`../${d}/`, import.meta.url)));
    const specifiers = dirs.flatMap((dir) =>
      readdirSync(dir).flatMap((file) =>
        [...readFileSync(join(dir, file), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]!),
      ),
    );
    expect(specifiers.length).toBeGreaterThan(0);
    for (const specifier of specifiers) expect(specifier).toMatch(/^(@llem\/core|zod|node:.+)$/);
  });
});
