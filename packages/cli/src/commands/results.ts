import { statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, type ExperimentResult, writeFileAtomic } from '@llem/core';
import {
  compareResults,
  formatPercent,
  formatResultProblem,
  formatSig3,
  readResults,
  studyTableColumns,
  summaryRow,
  type TableFormat,
  writeTable,
} from '@llem/core/results';
import Table from 'cli-table3';
import type { Output } from '../output.js';
import { resolveSettings } from '../settings.js';
import { resultsTable } from '../view/tables.js';

export interface ResultsFlags {
  resultsDir?: string;
}

/** A path argument, else the results directory from the settings. */
function targetOf(path: string | undefined, flags: ResultsFlags): string {
  if (path) return resolve(path);
  return resolveSettings({ resultsDir: flags.resultsDir }).resultsDir.value;
}

async function load(path: string, out: Output): Promise<ExperimentResult[]> {
  const { results, problems } = await readResults(path);
  for (const problem of problems) {
    if (out.json) out.record({ type: 'problem', ...problem });
    else out.info(`warning: ${formatResultProblem(problem)}`);
  }
  return results
    .map((r) => r.result)
    .sort((a, b) => a.timings.started_utc.localeCompare(b.timings.started_utc));
}

/** `llem results show [path]`: one row per result. */
export async function resultsShow(
  path: string | undefined,
  flags: ResultsFlags,
  out: Output,
): Promise<number> {
  const target = targetOf(path, flags);
  const results = await load(target, out);
  if (out.json) {
    for (const result of results)
      out.record({
        type: 'result',
        ...summaryRow(result),
        study_id: result.study_id,
        config_hash: result.config_hash,
      });
    return 0;
  }
  if (results.length === 0) {
    out.line(`No results under ${target}.`);
    return 0;
  }
  out.line(resultsTable(results, { cycle: results.some((r) => r.cycle !== null) }));
  out.line(`${results.length} result(s) under ${target}`);
  return 0;
}

/** `llem results compare <a> <b>`: key metrics of B against A (means over cycles), with deltas. */
export async function resultsCompare(
  a: string,
  b: string,
  _flags: ResultsFlags,
  out: Output,
): Promise<number> {
  const [as, bs] = [await load(resolve(a), out), await load(resolve(b), out)];
  for (const [name, side] of [
    [a, as],
    [b, bs],
  ] as const) {
    if (side.length === 0)
      throw new ConfigError(`No results under ${name}.`, {
        fix: 'Pass a result.json, an experiment directory or a study directory.',
      });
  }
  const rows = compareResults(as, bs);
  if (out.json) {
    for (const row of rows) out.record({ type: 'comparison', ...row });
    return 0;
  }
  const table = new Table({
    head: ['Metric', `A (n=${as.length})`, `B (n=${bs.length})`, 'Delta', 'B vs A'],
    colAligns: ['left', 'right', 'right', 'right', 'left'],
    style: { head: [], border: [] },
  });
  for (const row of rows)
    table.push([
      `${row.label}${row.unit ? ` (${row.unit})` : ''}`,
      formatSig3(row.a),
      formatSig3(row.b),
      formatPercent(row.delta_pct),
      row.verdict ?? '-',
    ]);
  out.line(`A: ${a}\nB: ${b}`);
  out.line(table.toString());
  return 0;
}

export interface ExportFlags extends ResultsFlags {
  format?: 'csv' | 'parquet' | 'json';
  output?: string;
}

/** `llem results export [path] --format csv|parquet|json [-o file]`: one row per result, config flattened. */
export async function resultsExport(
  path: string | undefined,
  flags: ExportFlags,
  out: Output,
): Promise<number> {
  const target = targetOf(path, flags);
  const results = await load(target, out);
  if (results.length === 0)
    throw new ConfigError(`No results under ${target} to export.`, {
      fix: 'Run a study first, or pass its directory.',
    });
  const format = flags.format ?? 'csv';
  if (format === 'json') {
    const text = `${JSON.stringify(results, null, 2)}\n`;
    if (flags.output) {
      await writeFileAtomic(resolve(flags.output), text);
      out.info(`Wrote ${results.length} result(s) to ${flags.output}`);
    } else out.stdout.write(text);
    return 0;
  }
  const file = resolve(flags.output ?? `llem-results.${format}`);
  const stem = file.replace(/\.(csv|parquet)$/i, '');
  const written = await writeTable(stem, studyTableColumns(results), [format as TableFormat]);
  const where = written[format as TableFormat]!;
  if (out.json) out.record({ type: 'export', format, path: where, rows: results.length });
  else out.line(`Wrote ${results.length} row(s) to ${where}`);
  return 0;
}

export interface ReportFlags extends ResultsFlags {
  output?: string;
}

/** `llem results report [path] [-o file]`: a self-contained HTML report (tables, Pareto front, power timelines). */
export async function resultsReport(
  path: string | undefined,
  flags: ReportFlags,
  out: Output,
): Promise<number> {
  const target = targetOf(path, flags);
  const { results: loaded, problems } = await readResults(target);
  for (const problem of problems) if (!out.json) out.info(`warning: ${formatResultProblem(problem)}`);
  if (loaded.length === 0)
    throw new ConfigError(`No results under ${target} to report on.`, {
      fix: 'Run a study first, or pass its directory.',
    });
  const { loadReportTimeseries, renderReport } = await import('@llem/report');
  const timeseries = await loadReportTimeseries(loaded);
  const html = renderReport(
    loaded.map((l) => l.result),
    { title: `llem report: ${basename(target)}`, timeseries, problems },
  );
  const file = resolve(
    flags.output ?? join(statSync(target).isDirectory() ? target : dirname(target), 'report.html'),
  );
  await writeFileAtomic(file, html);
  if (out.json) out.record({ type: 'report', path: file, results: loaded.length });
  else out.line(`Report: ${file}`);
  return 0;
}
