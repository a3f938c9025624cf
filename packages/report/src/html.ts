import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type ExperimentResult, isSafePath, writeFileAtomic } from '@llem/core';
import {
  aggregateByConfig,
  allWarnings,
  batchSizeOf,
  type ConfigAggregate,
  flattenConfig,
  type LoadedResult,
  metricValue,
  precisionOf,
  qualityOk,
  type ReadResultsOptions,
  type ResultProblem,
  readResults,
  readTimeseriesCsv,
  type SampleStats,
  TIMESERIES_BASENAME,
  TIMESERIES_FILE_KEYS,
  type TimeseriesRow,
  varyingParameters,
} from '@llem/core/results';
import { parameterChart, paretoChart, powerTimeline, sweepDimensions } from './charts.js';
import { escapeHtml, fmt } from './svg.js';

/**
 * The HTML report: one self-contained file (inline CSS, inline SVG, a few lines of inline JS for
 * sorting), no external URL, opens offline. Everything that comes from a result is escaped.
 */

export type TimeseriesByExperiment =
  | ReadonlyMap<string, readonly TimeseriesRow[]>
  | Readonly<Record<string, readonly TimeseriesRow[]>>;

export interface ReportOptions {
  title?: string;
  /** Timeseries rows per experiment id (loadReportTimeseries reads them next to each result.json). */
  timeseries?: TimeseriesByExperiment;
  /** Files that could not be read (from readResults), listed in the report. */
  problems?: readonly ResultProblem[];
  /** Shown in the header; default now. */
  generatedAt?: Date;
  /** At most this many power timelines (default 60), so a big study stays a reasonable file. */
  maxTimelines?: number;
}

function timeseriesOf(
  source: TimeseriesByExperiment | undefined,
  id: string,
): readonly TimeseriesRow[] | undefined {
  if (!source) return undefined;
  return source instanceof Map ? source.get(id) : (source as Record<string, readonly TimeseriesRow[]>)[id];
}

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

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#222}
h1{font-size:1.6em;margin-bottom:4px}h2{margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;margin:2px 0}.note{color:#666;font-size:.9em}
table{border-collapse:collapse;font-size:.85em;margin:8px 0;width:100%}
th,td{border-bottom:1px solid #e4e4e4;padding:4px 8px;text-align:left;white-space:nowrap}
td.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f6f6f6;position:sticky;top:0}
table.sortable th{cursor:pointer}table.sortable th::after{content:" \\2195";color:#aaa}
table.sortable th[data-dir=asc]::after{content:" \\2191";color:#333}table.sortable th[data-dir=desc]::after{content:" \\2193";color:#333}
.bad{color:#b00020}.ok{color:#1b7f3b}
.scroll{overflow-x:auto}
svg.chart{max-width:100%;height:auto;font-size:11px;background:#fff}
svg .grid{stroke:#eee}svg .frame,svg .tick{stroke:#888}svg .label{font-size:12px;fill:#333}
svg .pt{fill:#fff;stroke:#888;stroke-width:1.5}svg .front-pt{fill:#e15759;stroke:#9c1c1f}
svg .front{fill:none;stroke:#e15759;stroke-width:1.5;stroke-dasharray:5 3}
svg .err line{stroke:#999}svg .series{fill:none;stroke-width:1.5}
svg .window{fill:#4e79a7;opacity:.12}svg .pt-label{font-size:10px;fill:#444}
figure{margin:16px 0}figcaption{font-weight:600;margin-bottom:4px}
`;

const SORT_SCRIPT = `
document.querySelectorAll('table.sortable').forEach(function(table){
  table.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var dir=th.getAttribute('data-dir')==='asc'?'desc':'asc';
      table.querySelectorAll('th').forEach(function(h){h.removeAttribute('data-dir')});
      th.setAttribute('data-dir',dir);
      var body=table.tBodies[0];
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[i].getAttribute('data-v'),y=b.cells[i].getAttribute('data-v');
        if(x===null)x=a.cells[i].textContent;if(y===null)y=b.cells[i].textContent;
        var nx=parseFloat(x),ny=parseFloat(y);
        var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:String(x).localeCompare(String(y));
        return dir==='asc'?c:-c;
      });
      rows.forEach(function(r){body.appendChild(r)});
    });
  });
});
`;

type CellValue = string | number | boolean | null | undefined;

function td(value: CellValue): string {
  if (typeof value === 'number') return `<td class="n" data-v="${value}">${escapeHtml(fmt(value))}</td>`;
  if (value === null || value === undefined) return '<td class="n" data-v="">-</td>';
  if (typeof value === 'boolean')
    return `<td class="${value ? 'ok' : 'bad'}">${value ? 'ok' : 'flagged'}</td>`;
  return `<td>${escapeHtml(value)}</td>`;
}

function statCell(s: SampleStats): string {
  if (s.mean === null) return '<td class="n" data-v="">-</td>';
  const ci = s.ci95 === null ? '' : ` ± ${fmt(s.ci95)}`;
  return `<td class="n" data-v="${s.mean}">${escapeHtml(`${fmt(s.mean)}${ci}`)}</td>`;
}

function table(headers: readonly string[], rows: readonly string[], sortable = true): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  return `<div class="scroll"><table${sortable ? ' class="sortable"' : ''}><thead><tr>${head}</tr></thead><tbody>${rows.map((r) => `<tr>${r}</tr>`).join('')}</tbody></table></div>`;
}

function configTable(aggregates: readonly ConfigAggregate[], params: readonly string[]): string {
  const headers = [
    'Config',
    'Model',
    'Precision',
    'Batch',
    ...params,
    'n',
    'J/token (±95 % CI)',
    'tok/s (±95 % CI)',
    'TTFT p50 ms',
    'ITL p50 ms',
    'Energy J (measured)',
    'Quality',
    'Hash',
  ];
  const rows = aggregates.map((a) =>
    [
      td(a.label),
      td(a.model),
      td(a.precision),
      td(a.batch_size),
      ...params.map((p) =>
        td(
          a.params[p] === null || a.params[p] === undefined
            ? null
            : typeof a.params[p] === 'number'
              ? (a.params[p] as number)
              : String(a.params[p]),
        ),
      ),
      td(a.n),
      statCell(a.stats.energy_per_output_token_j),
      statCell(a.stats.output_tokens_per_s),
      statCell(a.stats.ttft_p50_ms),
      statCell(a.stats.itl_p50_ms),
      statCell(a.stats.energy_measured_j),
      td(a.quality_ok),
      td(a.config_hash),
    ].join(''),
  );
  return table(headers, rows);
}

function resultsTable(results: readonly ExperimentResult[], params: readonly string[]): string {
  const headers = [
    'Experiment',
    'Cycle',
    'Model',
    'Backend',
    'Precision',
    'Batch',
    ...params,
    'J/token',
    'tok/s',
    'TTFT p50 ms',
    'ITL p50 ms',
    'Energy J',
    'Adjusted J',
    'Window s',
    'Quality',
    'Warnings',
  ];
  const rows = results.map((r) => {
    const flat = flattenConfig(r.config);
    return [
      td(r.experiment_id),
      td(r.cycle),
      td(r.model),
      td(r.backend.name),
      td(precisionOf(r)),
      td(batchSizeOf(r)),
      ...params.map((p) => {
        const v = flat[p];
        return td(v === undefined || v === null ? null : typeof v === 'number' ? v : String(v));
      }),
      td(metricValue(r, 'energy_per_output_token_j')),
      td(metricValue(r, 'output_tokens_per_s')),
      td(metricValue(r, 'ttft_p50_ms')),
      td(metricValue(r, 'itl_p50_ms')),
      td(metricValue(r, 'energy_measured_j')),
      td(metricValue(r, 'energy_adjusted_j')),
      td(metricValue(r, 'window_s')),
      td(qualityOk(r)),
      td(allWarnings(r).length),
    ].join('');
  });
  return table(headers, rows);
}

function warningsSection(results: readonly ExperimentResult[]): string {
  const items = results
    .map((r) => ({ r, warnings: allWarnings(r) }))
    .filter((x) => x.warnings.length > 0)
    .map(
      ({ r, warnings }) =>
        `<li><strong>${escapeHtml(r.experiment_id)}</strong> (${escapeHtml(r.model)})<ul>${warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></li>`,
    );
  return items.length === 0 ? '<p class="ok">No quality warnings.</p>' : `<ul>${items.join('')}</ul>`;
}

function problemsSection(problems: readonly ResultProblem[]): string {
  if (problems.length === 0) return '';
  const items = problems.map(
    (p) =>
      `<li><code>${escapeHtml(p.path)}</code>: ${escapeHtml(p.reason)}${p.quarantinedTo ? ` (moved to <code>${escapeHtml(p.quarantinedTo)}</code>)` : ''}</li>`,
  );
  return `<h2>Files not included</h2><ul class="bad">${items.join('')}</ul>`;
}

function figure(caption: string, chart: string | null, empty: string): string {
  return `<figure><figcaption>${escapeHtml(caption)}</figcaption>${chart ?? `<p class="note">${escapeHtml(empty)}</p>`}</figure>`;
}

function distinct(values: readonly (string | null)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== null && v !== ''))];
}

/** Renders the report of `results` (any number of experiments and cycles) as one HTML document. */
export function renderReport(results: readonly ExperimentResult[], options: ReportOptions = {}): string {
  const title = options.title ?? 'llem results';
  const generated = (options.generatedAt ?? new Date()).toISOString();
  const aggregates = aggregateByConfig(results);
  const params = varyingParameters(results);
  const dimensions = sweepDimensions(aggregates);
  const bases = distinct(results.map((r) => r.efficiency.basis));
  const devices = distinct(
    results.flatMap((r) => (r.energy?.devices ?? []).map((d) => `${d.device_id}: ${d.name}`)),
  );
  const sections: string[] = [];

  sections.push(`<h1>${escapeHtml(title)}</h1>`);
  sections.push(
    `<p class="meta">${results.length} result(s), ${aggregates.length} config(s); generated ${escapeHtml(generated)}; llem ${escapeHtml(distinct(results.map((r) => r.llem_version)).join(', ') || '-')}</p>`,
  );
  const studies = distinct(results.map((r) => r.study_id));
  if (studies.length > 0) sections.push(`<p class="meta">Study: ${escapeHtml(studies.join(', '))}</p>`);
  if (devices.length > 0) sections.push(`<p class="meta">Devices: ${escapeHtml(devices.join('; '))}</p>`);
  sections.push(
    `<p class="note">Energy per output token uses ${escapeHtml(bases.join(' / ') || 'no')} energy (adjusted = idle baseline subtracted). Points are means over cycles; bars are 95 % confidence intervals (Student t). Metric definitions: docs/results.md.</p>`,
  );

  sections.push('<h2>Energy against throughput</h2>');
  sections.push(
    figure(
      'Energy per output token (J) against output throughput (tok/s); the Pareto front is highlighted',
      paretoChart(aggregates),
      'No result has both energy per output token and throughput.',
    ),
  );

  sections.push('<h2>Energy per token by sweep parameter</h2>');
  if (dimensions.length === 0) sections.push('<p class="note">No parameter varies across these results.</p>');
  for (const dimension of dimensions) {
    const others = dimensions.filter((d) => d !== dimension);
    sections.push(
      figure(
        `Energy per output token by ${dimension.key}`,
        parameterChart(aggregates, dimension, others),
        'No energy per token to show.',
      ),
    );
  }

  sections.push('<h2>Configs (mean over cycles)</h2>');
  sections.push(configTable(aggregates, params));
  sections.push('<h2>All results</h2>');
  sections.push(resultsTable(results, params));

  sections.push('<h2>Power over time</h2>');
  const maxTimelines = options.maxTimelines ?? 60;
  let timelines = 0;
  let skipped = 0;
  for (const r of results) {
    const rows = timeseriesOf(options.timeseries, r.experiment_id);
    if (!rows || rows.length === 0) continue;
    if (timelines >= maxTimelines) {
      skipped++;
      continue;
    }
    const chart = powerTimeline(`Power of ${r.experiment_id}`, rows, r.window.duration_s);
    if (chart === null) continue;
    timelines++;
    sections.push(figure(`${r.experiment_id} (${r.model}); shaded: measurement window`, chart, ''));
  }
  if (timelines === 0) sections.push('<p class="note">No timeseries found next to these results.</p>');
  if (skipped > 0)
    sections.push(`<p class="note">${skipped} more timeline(s) left out (limit ${maxTimelines}).</p>`);

  sections.push('<h2>Quality warnings</h2>');
  sections.push(warningsSection(results));
  sections.push(problemsSection(options.problems ?? []));

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
${sections.join('\n')}
<script>${SORT_SCRIPT}</script>
</body>
</html>
`;
}

/** Writes the report atomically as `<dir>/<name>` (default report.html) and returns its path. */
export async function writeReport(dir: string, html: string, name = 'report.html'): Promise<string> {
  const path = join(dir, name);
  await writeFileAtomic(path, html);
  return path;
}

export interface BuiltReport {
  html: string;
  results: LoadedResult[];
  problems: ResultProblem[];
}

/**
 * Reads every result under `dirOrFile` (bad files become problems listed in the report), loads the
 * timeseries next to them and renders the report. `title` defaults to the path.
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
  const html = renderReport(
    results.map((r) => r.result),
    {
      ...options,
      title: options.title ?? dirOrFile,
      timeseries,
      problems: [...(options.problems ?? []), ...problems],
    },
  );
  return { html, results, problems };
}
