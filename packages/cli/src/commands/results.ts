import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import { ConfigError, type ExperimentResult, writeFileAtomic } from '@llem/core';
import {
  type ComparisonVerdict,
  compareResults,
  configDifferences,
  flattenConfig,
  formatMeanCi,
  formatPercent,
  formatResultProblem,
  formatSig3,
  type LoadedResult,
  readResults,
  studyTableColumns,
  summaryRow,
  tableParameters,
  tableToCsv,
  tableToParquet,
} from '@llem/core/results';
import Table from 'cli-table3';
import { configRecords, parameterValues, resultMetrics } from '../json-records.js';
import type { Output } from '../output.js';
import { resolveSettings } from '../settings.js';
import { compactLabels } from '../view/labels.js';
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

export interface ShowFlags extends ResultsFlags {
  /** One row per experiment-cycle instead of one per config. */
  perCycle?: boolean;
}

/** `llem results show [path]`: one row per config (mean ± CI over cycles), or per experiment-cycle. */
export async function resultsShow(path: string | undefined, flags: ShowFlags, out: Output): Promise<number> {
  const target = targetOf(path, flags);
  const results = await load(target, out);
  const swept = sweptKeysOf(target);
  const parameters = tableParameters(results, swept);
  if (out.json) {
    if (flags.perCycle)
      for (const result of results)
        out.record({
          type: 'result',
          experimentId: result.experiment_id,
          studyId: result.study_id,
          configHash: result.config_hash,
          cycle: result.cycle,
          model: result.model,
          backend: result.backend.name,
          parameters: parameterValues(result, parameters),
          ...resultMetrics(result),
          quality: summaryRow(result).quality,
        });
    else
      for (const config of configRecords(results, parameters)) out.record({ type: 'aggregate', ...config });
    return 0;
  }
  if (results.length === 0) {
    out.line(`No results under ${target}.`);
    return 0;
  }
  out.line(resultsTable(results, { perCycle: flags.perCycle, swept }));
  const configs = new Set(results.map((r) => `${r.study_id}/${r.config_hash}`)).size;
  out.line(`${results.length} result(s) of ${configs} config(s) under ${target}`);
  if (!flags.perCycle && configs < results.length) out.line('One row per experiment-cycle: add --per-cycle');
  return 0;
}

/**
 * A study directory's sweep keys (from its study.json), so that a key swept over one value is a
 * column too; empty for anything else.
 */
function sweptKeysOf(target: string): string[] {
  try {
    const study = JSON.parse(readFileSync(join(target, 'study.json'), 'utf8')) as {
      experiments?: { assignments?: Record<string, unknown> }[];
    };
    return [...new Set((study.experiments ?? []).flatMap((e) => Object.keys(e.assignments ?? {})))];
  } catch {
    return [];
  }
}

/** One side of a comparison: `path`, or `path@<config hash prefix>` for one config of a study. */
async function loadSide(arg: string, name: 'A' | 'B', out: Output): Promise<ExperimentResult[]> {
  const at = arg.lastIndexOf('@');
  const selector = at > 0 && !existsSync(arg) ? arg.slice(at + 1) : null;
  const path = selector === null ? arg : arg.slice(0, at);
  const results = await load(resolve(path), out);
  if (results.length === 0)
    throw new ConfigError(`No results under ${path} (${name}).`, {
      fix: 'Pass a result.json, an experiment directory, or a study directory with @<config hash>.',
    });
  const picked = selector === null ? results : results.filter((r) => r.config_hash.startsWith(selector));
  const configs = [...new Set(picked.map((r) => r.config_hash))];
  if (configs.length === 1) return picked;
  const all = [...new Set(results.map((r) => r.config_hash))];
  // Labelled like the run's lines: the study's swept keys first, in its sweep order.
  const swept = sweptKeysOf(resolve(path));
  const labels = compactLabels(
    all.map((hash) => {
      const first = results.find((r) => r.config_hash === hash)!;
      const flat = flattenConfig(first.config);
      return {
        assignments: Object.fromEntries(swept.map((key) => [key, flat[key] ?? null])),
        label: first.model,
        config: first.config,
      };
    }),
  );
  const listing = all.map((hash, i) => `  ${path}@${hash.slice(0, 8)}  ${labels[i]}`).join('\n');
  if (selector !== null && configs.length === 0)
    throw new ConfigError(
      `${name}: no config under ${path} has a hash starting with '${selector}'. It holds:\n${listing}`,
      {
        fix: 'Name one of the configs above (path@hash).',
      },
    );
  throw new ConfigError(
    `${name}: ${arg} holds ${configs.length} configs; comparing their average would mix different experiments. It holds:\n${listing}`,
    { fix: 'Compare one config with another: name each as <study dir>@<config hash>, as listed above.' },
  );
}

const VERDICT_TEXT: Record<ComparisonVerdict, string> = {
  better: 'better',
  worse: 'worse',
  'within-noise': 'within noise',
  same: 'same',
  inconclusive: '? (n=1)',
};

/** `llem results compare <a> <b>`: key metrics of B against A (means over cycles), with deltas and a verdict beyond noise. */
export async function resultsCompare(
  a: string,
  b: string,
  _flags: ResultsFlags,
  out: Output,
): Promise<number> {
  const as = await loadSide(a, 'A', out);
  const bs = await loadSide(b, 'B', out);
  const rows = compareResults(as, bs);
  const differences = configDifferences(as, bs);
  const value = (xs: readonly unknown[]) =>
    xs.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' | ');
  if (out.json) {
    out.record({
      type: 'compare',
      a: { path: a, configHash: as[0]!.config_hash, n: as.length },
      b: { path: b, configHash: bs[0]!.config_hash, n: bs.length },
      differences,
    });
    for (const row of rows)
      out.record({
        type: 'comparison',
        metric: row.metric,
        label: row.label,
        unit: row.unit,
        better: row.better,
        a: row.a,
        b: row.b,
        aCi95: row.a_ci95,
        bCi95: row.b_ci95,
        delta: row.delta,
        deltaPct: row.delta_pct,
        verdict: row.verdict,
        pValue: row.p_value,
        estimate: row.estimate,
        nA: row.n_a,
        nB: row.n_b,
      });
    return 0;
  }
  const table = new Table({
    head: ['Metric', `A (n=${as.length})`, `B (n=${bs.length})`, 'B − A', 'B vs A'],
    colAligns: ['left', 'right', 'right', 'right', 'left'],
    style: { head: [], border: [] },
  });
  for (const row of rows) {
    const cell = (mean: number | null, ci: number | null) =>
      formatMeanCi({ n: 0, mean, std: null, ci95: ci }, row.estimate);
    table.push([
      `${row.label}${row.unit ? ` (${row.unit})` : ''}`,
      cell(row.a, row.a_ci95),
      cell(row.b, row.b_ci95),
      formatPercent(row.delta_pct),
      row.verdict === null
        ? '-'
        : `${VERDICT_TEXT[row.verdict]}${row.p_value !== null && row.verdict !== 'same' ? ` (p=${formatSig3(row.p_value)})` : ''}`,
    ]);
  }
  out.line(`A: ${a} (${as.length} cycle(s), config ${as[0]!.config_hash.slice(0, 8)})`);
  out.line(`B: ${b} (${bs.length} cycle(s), config ${bs[0]!.config_hash.slice(0, 8)})`);
  if (differences.length === 0) out.line('Config: the same on both sides.');
  else {
    out.line('Config differences (A -> B):');
    for (const d of differences) out.line(`  ${d.key}: ${value(d.a)} -> ${value(d.b)}`);
  }
  out.line(table.toString());
  const notes = [
    'Values: mean ± 95 % CI over cycles.',
    'B vs A: better or worse only when the difference is beyond noise (Welch t-test, p < 0.05); "within noise" otherwise.',
  ];
  if (rows.some((r) => r.verdict === 'inconclusive'))
    notes.push(
      '? (n=1): one cycle on a side, so its noise is unknown: run the study with cycles >= 2 (--cycles 3).',
    );
  if (rows.some((r) => r.estimate))
    notes.push('~ (est.): estimated energy (no energy counter on this machine), not measured.');
  for (const note of notes) out.line(note);
  return 0;
}

export interface ExportFlags extends ResultsFlags {
  /** Default: from the extension of `output`, else csv. */
  format?: ExportFormat;
  output?: string;
  /** Replace an existing file. */
  force?: boolean;
}

type ExportFormat = 'csv' | 'parquet' | 'json';
const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'parquet', 'json'];

/**
 * `llem results export [path] [--format csv|parquet|json] [-o file] [--force]`: one row per result
 * (config flattened), or the result records as a JSON array. Writes `-o`, else
 * ./llem-results.<format>; an existing file is never replaced without --force.
 */
export async function resultsExport(
  path: string | undefined,
  flags: ExportFlags,
  out: Output,
): Promise<number> {
  const fromName = flags.output ? extname(flags.output).slice(1).toLowerCase() : '';
  const format: ExportFormat =
    flags.format ?? (EXPORT_FORMATS.includes(fromName as ExportFormat) ? (fromName as ExportFormat) : 'csv');
  if (flags.format && EXPORT_FORMATS.includes(fromName as ExportFormat) && fromName !== flags.format)
    throw new ConfigError(`-o ${flags.output} names a .${fromName} file, but --format is ${flags.format}.`, {
      fix: `Drop --format (the extension sets it), or name the file <name>.${flags.format}.`,
    });
  const file = resolve(flags.output ?? `llem-results.${format}`);
  if (!flags.force && existsSync(file))
    throw new ConfigError(
      `${file} already exists; llem results export does not replace a file without --force.`,
      {
        fix: flags.output
          ? 'Name another file with -o <file>, or add --force to replace this one.'
          : `Name the file with -o <file>, or add --force to replace ./llem-results.${format}.`,
      },
    );
  const target = targetOf(path, flags);
  const results = await load(target, out);
  if (results.length === 0)
    throw new ConfigError(`No results under ${target} to export.`, {
      fix: 'Run a study first, or pass its directory.',
    });
  if (format === 'json') await writeFileAtomic(file, `${JSON.stringify(results, null, 2)}\n`);
  else if (format === 'csv') await writeFileAtomic(file, tableToCsv(studyTableColumns(results)));
  else await writeFileAtomic(file, await tableToParquet(studyTableColumns(results)));
  if (out.json)
    out.record({ type: 'file-written', path: file, role: 'export', format, results: results.length });
  else out.line(`Wrote ${results.length} result(s) as ${format} to ${file}`);
  return 0;
}

export interface ReportFlags extends ResultsFlags {
  output?: string;
}

/** The latest study under `dir` (by its last start), or the latest single experiment; null when empty. */
function latestStudy(
  loaded: readonly LoadedResult[],
  dir: string,
): { name: string; dir: string; results: LoadedResult[] } | null {
  const groups = new Map<string, LoadedResult[]>();
  for (const l of loaded) {
    const key = l.result.study_id ?? `experiment ${l.result.experiment_id}`;
    groups.set(key, [...(groups.get(key) ?? []), l]);
  }
  const last = (g: LoadedResult[]) =>
    g
      .map((l) => l.result.timings.started_utc)
      .sort()
      .at(-1) ?? '';
  const [name, results] = [...groups].sort((a, b) => last(b[1]).localeCompare(last(a[1])))[0] ?? [];
  if (!name || !results) return null;
  const studyId = results[0]?.result.study_id ?? null;
  const studyDir = studyId === null ? (results[0] as LoadedResult).dir : join(dir, studyId);
  return { name, dir: existsSync(studyDir) ? studyDir : (results[0] as LoadedResult).dir, results };
}

/**
 * `llem results report [path] [-o file]`: the report of one study: one offline HTML file, or with
 * `-o <name>.md` a Markdown page plus its charts as SVG files. Without a path, the latest study in
 * the results directory (never a merge of several studies).
 */
export async function resultsReport(
  path: string | undefined,
  flags: ReportFlags,
  out: Output,
): Promise<number> {
  const { reportFormatOf, loadReportTimeseries, writeReport } = await import('@llem/report');
  if (flags.output && reportFormatOf(flags.output) === null)
    throw new ConfigError(
      `-o ${flags.output}: a report is written as HTML (.html) or Markdown (.md), not ${extname(flags.output) || 'a file without an extension'}.`,
      {
        fix: 'Name the file report.html (one page that opens offline) or report.md (Markdown, its charts as SVG files beside it).',
      },
    );
  let target = targetOf(path, flags);
  const read = await readResults(target);
  for (const problem of read.problems)
    if (out.json) out.record({ type: 'problem', ...problem });
    else out.info(`warning: ${formatResultProblem(problem)}`);
  let loaded = read.results;
  let problems = read.problems;
  if (path === undefined) {
    const latest = latestStudy(loaded, target);
    if (latest) {
      const studies = new Set(loaded.map((l) => l.result.study_id ?? l.result.experiment_id)).size;
      if (studies > 1)
        out.info(
          `Reporting the latest of ${studies} studies under ${target}: ${latest.name}. Pass a study directory for another.`,
        );
      loaded = latest.results;
      target = latest.dir;
      problems = problems.filter((p) => p.path.startsWith(`${latest.dir}${sep}`));
    }
  }
  if (loaded.length === 0)
    throw new ConfigError(`No results under ${target} to report on.`, {
      fix: 'Run a study first, or pass its directory.',
    });
  const file = resolve(
    flags.output ?? join(statSync(target).isDirectory() ? target : dirname(target), 'report.html'),
  );
  const written = await writeReport(
    file,
    loaded.map((l) => l.result),
    {
      title: `llem report: ${basename(target)}`,
      timeseries: await loadReportTimeseries(loaded),
      problems,
    },
  );
  if (out.json)
    for (const w of written)
      out.record(
        w.role === 'report'
          ? {
              type: 'file-written',
              path: w.path,
              role: 'report',
              format: reportFormatOf(w.path) ?? 'html',
              results: loaded.length,
            }
          : { type: 'file-written', path: w.path, role: 'figure' },
      );
  else {
    out.line(`Report: ${file}`);
    const figures = written.filter((w) => w.role === 'figure');
    if (figures.length > 0) out.line(`Charts: ${figures.length} SVG file(s) in ${dirname(figures[0]!.path)}`);
  }
  return 0;
}
