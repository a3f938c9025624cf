/**
 * `pnpm bench`: runs every suite in bench/suites (or those named on the command line),
 * prints one table and writes it to bench/RESULTS.md.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchRow, BenchSuite } from './types.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(join(here, 'suites'))
  .filter((f) => f.endsWith('.ts'))
  .sort();

const rows: BenchRow[] = [];
const failed: string[] = [];
for (const file of files) {
  const mod = (await import(pathToFileURL(join(here, 'suites', file)).href)) as { suite: BenchSuite };
  if (only.length && !only.includes(mod.suite.name)) continue;
  process.stderr.write(`bench: ${mod.suite.name}…\n`);
  try {
    rows.push(...(await mod.suite.run()));
  } catch (error) {
    // One broken suite must not hide the others' figures: it gets a row saying why.
    failed.push(mod.suite.name);
    rows.push({
      suite: mod.suite.name,
      name: `FAILED: ${(error as Error).message.split('\n')[0]}`,
      value: Number.NaN,
      unit: '',
    });
  }
}

const fmt = (n: number) =>
  Number.isNaN(n)
    ? '-'
    : Math.abs(n) >= 100
      ? n.toFixed(0)
      : Math.abs(n) >= 1
        ? n.toFixed(2)
        : n.toPrecision(3);
const lines = [
  '| suite | measure | value | baseline (same run) | ratio | target | ok |',
  '|---|---|---|---|---|---|---|',
  ...rows.map((r) => {
    const base = r.baseline ? `${r.baseline.name}: ${fmt(r.baseline.value)} ${r.unit}` : '';
    const ratio = r.baseline && r.baseline.value > 0 ? `${(r.value / r.baseline.value).toFixed(2)}×` : '';
    const ok = r.ok === undefined ? '' : r.ok ? 'yes' : 'NO';
    return `| ${r.suite} | ${r.name} | ${fmt(r.value)} ${r.unit} | ${base} | ${ratio} | ${r.target ?? ''} | ${ok} |`;
  }),
];
const header = `Measured ${new Date().toISOString()} on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}.`;
const table = lines.join('\n');
console.log(`${header}\n\n${table}`);
if (only.length === 0) writeFileSync(join(here, 'RESULTS.md'), `# Benchmarks\n\n${header}\n\n${table}\n`);
if (failed.length) {
  process.stderr.write(`bench: suite(s) failed: ${failed.join(', ')}\n`);
  process.exitCode = 1;
}
