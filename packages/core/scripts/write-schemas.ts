/**
 * Writes the JSON Schemas generated from zod to `schemas/` at the repository root.
 * Run: `cd packages/core && npx tsx scripts/write-schemas.ts`
 * (`--check` only compares and exits 1 when a committed file is stale).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/fs/atomic-write.js';
import { generateJsonSchemas, jsonSchemaText } from '../src/results/json-schemas.js';

const outDir = fileURLToPath(new URL('../../../schemas/', import.meta.url));
const check = process.argv.includes('--check');

await mkdir(outDir, { recursive: true });
let stale = 0;
for (const [name, schema] of Object.entries(generateJsonSchemas())) {
  const path = join(outDir, name);
  const text = jsonSchemaText(schema);
  const current = await readFile(path, 'utf8').catch(() => null);
  if (current === text) continue;
  stale++;
  if (check) console.error(`${path} is out of date; run packages/core/scripts/write-schemas.ts`);
  else {
    await writeFileAtomic(path, text);
    console.log(`wrote ${path}`);
  }
}
if (check && stale > 0) process.exit(1);
