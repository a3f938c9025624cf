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

  it('every field row has a type, a default (or required/unset) and a description; each table once', () => {
    const generated = configFieldTables({ pytorch: PytorchConfigSchema as z.ZodType });
    const rows = generated.split('\n').filter((line) => line.startsWith('| `'));
    expect(rows.length).toBeGreaterThan(60);
    for (const row of rows) {
      // Cells are separated by unescaped pipes (a type may contain `\|`).
      const cells = row
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim());
      const [field, type, fallback, , description] = cells;
      expect(cells, row).toHaveLength(5);
      expect(type, `${field}: type`).not.toBe('');
      expect(fallback, `${field}: default`).not.toBe('');
      expect(description, `${field}: description`).not.toBe('');
    }
    const titles = generated.split('\n').filter((line) => line.startsWith('#### '));
    expect(titles.length).toBe(new Set(titles).size);
    expect(titles.filter((title) => title === '#### `gaps`')).toHaveLength(1);
  });
});
