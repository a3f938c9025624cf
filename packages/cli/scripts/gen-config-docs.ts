/** Rewrites the generated field tables of docs/configuration.md from the zod schemas. */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PytorchConfigSchema } from '@llem/backend-pytorch';
import type { z } from 'zod';
import { configFieldTables, withGeneratedTables } from '../src/config-docs.js';

const path = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));
const next = withGeneratedTables(
  readFileSync(path, 'utf8'),
  configFieldTables({ pytorch: PytorchConfigSchema as z.ZodType }),
);
writeFileSync(path, next);
console.log(`updated ${path}`);
