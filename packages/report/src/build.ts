import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { type ExperimentResult, isSafePath, writeFileAtomic } from '@llem/core';
import {
  type LoadedResult,
  type ReadResultsOptions,
  type ResultProblem,
  readResults,
  readTimeseriesCsv,
  TIMESERIES_BASENAME,
  TIMESERIES_FILE_KEYS,
  type TimeseriesRow,
} from '@llem/core/results';
import { renderFigures } from './figures.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import { buildReportModel, type ReportOptions } from './model.js';

/** Reading a report's inputs and writing its files: the HTML page, or the Markdown page and its SVGs. */

/** Reads the timeseries CSV next to each result.json (from result.files, else timeseries.csv); missing ones are skipped. */
export async function loadReportTimeseries(
  loaded: readonly LoadedResult[],
): Promise<Map<string, TimeseriesRow[]>> {
  const out = new Map<string, TimeseriesRow[]>();
  for (const { dir, result } of loaded) {
    const name = result.files[TIMESERIES_FILE_KEYS.csv] ?? `${TIMESERIES_BASENAME}.csv`;
    // result.json names the file; never follow it out of the experiment directory.
    if (!isSafePath(dir, name)) continue;
    const path = join(dir, name);
    const exists = await stat(path).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!exists) continue;
    try {
      out.set(result.experiment_id, await readTimeseriesCsv(path));
    } catch {
      // an unreadable sidecar only costs the chart, not the report
    }
  }
  return out;
}

export type ReportFormat = 'html' | 'markdown';

/** The page format a file name asks for (`.html`/`.htm`, `.md`/`.markdown`), or null for any other name. */
export function reportFormatOf(path: string): ReportFormat | null {
  const ext = extname(path).toLowerCase();
  if (ext === '.html' || ext === '.htm') return 'html';
  if (ext === '.md' || ext === '.markdown') return 'markdown';
  return null;
}

/** A file the report wrote: the page, or one of the Markdown page's figures. */
export interface WrittenFile {
  path: string;
  role: 'report' | 'figure';
}

/**
 * Writes the report of `results` to `path`, in the format its extension names (see
 * reportFormatOf; HTML otherwise): one self-contained HTML file, or a Markdown page plus its
 * charts as SVG files in `<name>-figures/` beside it. Every file is written atomically, the
 * figures before the page that links to them. Returns the files written, the page last.
 */
export async function writeReport(
  path: string,
  results: readonly ExperimentResult[],
  options: ReportOptions = {},
): Promise<WrittenFile[]> {
  const model = buildReportModel(results, options);
  const figures = await renderFigures(model);
  if (reportFormatOf(path) !== 'markdown') {
    await writeFileAtomic(path, renderHtml(model, figures));
    return [{ path, role: 'report' }];
  }
  const dir = `${basename(path, extname(path))}-figures`;
  const page = renderMarkdown(model, figures, dir);
  const written: WrittenFile[] = [];
  if (page.figures.length > 0) await mkdir(join(dirname(path), dir), { recursive: true });
  for (const f of page.figures) {
    const file = join(dirname(path), f.path);
    await writeFileAtomic(file, f.svg);
    written.push({ path: file, role: 'figure' });
  }
  await writeFileAtomic(path, page.text);
  written.push({ path, role: 'report' });
  return written;
}

export interface BuiltReport {
  html: string;
  results: LoadedResult[];
  problems: ResultProblem[];
}

/**
 * Reads every result under `dirOrFile` (bad files become problems listed in the report), loads the
 * timeseries next to them and renders the HTML report. `title` defaults to the path.
 */
export async function buildReport(
  dirOrFile: string,
  options: ReportOptions & ReadResultsOptions = {},
): Promise<BuiltReport> {
  const { results, problems } = await readResults(dirOrFile, {
    onProblem: options.onProblem,
    quarantine: options.quarantine,
  });
  const timeseries = options.timeseries ?? (await loadReportTimeseries(results));
  const model = buildReportModel(
    results.map((r) => r.result),
    {
      ...options,
      title: options.title ?? dirOrFile,
      timeseries,
      problems: [...(options.problems ?? []), ...problems],
    },
  );
  return { html: renderHtml(model, await renderFigures(model)), results, problems };
}
