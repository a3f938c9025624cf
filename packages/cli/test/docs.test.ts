import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PytorchConfigSchema } from '@llem/backend-pytorch';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { configFieldTables, withGeneratedTables } from '../src/config-docs.js';
import { repoRoot } from './llem.js';

describe('docs/configuration.md', () => {
  it('has field tables generated from the current zod schemas (run `pnpm --filter @llem/cli docs`)', () => {
    const document = readFileSync(join(repoRoot, 'docs/configuration.md'), 'utf8');
    const fresh = withGeneratedTables(
      document,
      configFieldTables({ pytorch: PytorchConfigSchema as z.ZodType }),
    );
    expect(document).toBe(fresh);
    expect(document).toContain('| `pytorch.batch_size` | integer | `1` |');
    expect(document).toContain('| `defaults.store` |');
  });
});
