import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentResult } from '@llem/core';
import { makeResult } from '@llem/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonLines, llem, sandbox } from './llem.js';

/**
 * `llem results report` and `llem results export` on results written to disk: which study a report
 * covers, the page formats, and that an export never replaces a file unasked.
 */

const box = sandbox();
afterAll(() => box.remove());

function store(result: ExperimentResult, startedUtc: string): void {
  const dir = join(box.resultsDir, result.study_id ?? '', result.experiment_id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'result.json'),
    JSON.stringify({ ...result, timings: { ...result.timings, started_utc: startedUtc } }),
  );
}

// two studies: the older one of model "old-model", the newer of "new-model" (2 configs × 2 cycles)
for (const cycle of [0, 1])
  store(
    makeResult({ model: 'old-model', studyId: 'old-study', cycle, batchSize: 1 }),
    `2026-11-01T10:0${cycle}:00Z`,
  );
for (const cycle of [0, 1])
  for (const batchSize of [1, 8])
    store(
      makeResult({ model: 'new-model', studyId: 'new-study', cycle, batchSize, energyJ: 100 + cycle * 30 }),
      `2026-11-02T10:0${cycle}:00Z`,
    );

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('error:'));

describe('llem results report', () => {
  it('with no path reports the latest study only, in its directory, and says so', async () => {
    const r = await llem(['results', 'report'], box.env, box.dir);
    expect(r.code, r.stderr).toBe(0);
    const file = join(box.resultsDir, 'new-study', 'report.html');
    expect(r.stdout).toContain(file);
    expect(r.stderr).toContain('latest of 2 studies');
    expect(r.stderr).toContain('new-study');
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('new-model');
    expect(html).not.toContain('old-model');
    expect(html).toContain('4 result(s) (experiment-cycles) of 2 config(s)');
    expect(existsSync(join(box.resultsDir, 'report.html'))).toBe(false);
    expect(existsSync(join(box.resultsDir, 'old-study', 'report.html'))).toBe(false);
  });

  it('-o <name>.md writes Markdown and its charts as SVG files; --json says so, one line per file', async () => {
    const out = join(box.dir, 'r.md');
    const r = await llem(
      ['results', 'report', join(box.resultsDir, 'old-study'), '-o', out, '--json'],
      box.env,
      box.dir,
    );
    expect(r.code, r.stderr).toBe(0);
    const records = jsonLines(r.stdout);
    expect(r.stdout.trim().split('\n')).toHaveLength(records.length);
    const page = records.find((x) => x.role === 'report');
    expect(page).toEqual({
      type: 'file-written',
      schemaVersion: 1,
      path: out,
      role: 'report',
      format: 'markdown',
      results: 2,
    });
    const figures = records.filter((x) => x.role === 'figure');
    expect(figures.length).toBeGreaterThan(0);
    for (const f of figures) expect(readFileSync(f.path as string, 'utf8')).toMatch(/^<svg/);
    const md = readFileSync(out, 'utf8');
    expect(md).toMatch(/^# /);
    expect(md).not.toMatch(/<html|<table/i);
    expect(md).toContain('old-model');
    expect(readdirSync(join(box.dir, 'r-figures')).length).toBe(figures.length);
  });

  it('refuses an -o that is neither .html nor .md: one error line, exit 2, nothing written', async () => {
    const r = await llem(['results', 'report', '-o', 'report.pdf'], box.env, box.dir);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain('report.pdf');
    expect(r.stderr).toMatch(/\.html.*\.md/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(box.dir, 'report.pdf'))).toBe(false);
  });
});

describe('llem results export', () => {
  it('writes ./llem-results.csv, and never replaces it without --force', async () => {
    const dir = join(box.dir, 'export-default');
    mkdirSync(dir);
    const first = await llem(['results', 'export'], box.env, dir);
    expect(first.code, first.stderr).toBe(0);
    const file = join(dir, 'llem-results.csv');
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(7); // header + 6 results
    writeFileSync(file, 'my notes\n');

    const again = await llem(['results', 'export'], box.env, dir);
    expect(again.code).toBe(2);
    expect(errorLines(again.stderr)).toHaveLength(1);
    expect(again.stderr).toContain(file);
    expect(again.stderr).toContain('--force');
    expect(readFileSync(file, 'utf8')).toBe('my notes\n');

    const named = await llem(['results', 'export', '-o', file], box.env, dir);
    expect(named.code).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('my notes\n');

    const forced = await llem(['results', 'export', '--force'], box.env, dir);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(file, 'utf8').split('\n')[0]).not.toBe('my notes');
  });

  it('--format json --json: stdout is one file-written line, the file a JSON array of the results', async () => {
    const dir = join(box.dir, 'export-json');
    mkdirSync(dir);
    const r = await llem(
      ['results', 'export', join(box.resultsDir, 'new-study'), '--format', 'json', '--json'],
      box.env,
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    const file = join(dir, 'llem-results.json');
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { type: 'file-written', schemaVersion: 1, path: file, role: 'export', format: 'json', results: 4 },
    ]);
    const results = JSON.parse(readFileSync(file, 'utf8')) as ExperimentResult[];
    expect(results.map((x) => x.model)).toEqual(['new-model', 'new-model', 'new-model', 'new-model']);
  });

  it('takes the format from -o when --format is not given', async () => {
    const file = join(box.dir, 'all.parquet');
    const r = await llem(['results', 'export', '-o', file], box.env, box.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file).subarray(0, 4).toString()).toBe('PAR1');
    expect(r.stdout).toContain(`as parquet to ${file}`);

    // an extension that contradicts --format is refused, not written in the wrong format
    const clash = await llem(
      ['results', 'export', '-o', join(box.dir, 'all.json'), '--format', 'csv'],
      box.env,
      box.dir,
    );
    expect(clash.code).toBe(2);
    expect(errorLines(clash.stderr)).toHaveLength(1);
    expect(clash.stderr).toContain('--format');
    expect(existsSync(join(box.dir, 'all.json'))).toBe(false);
  });
});
