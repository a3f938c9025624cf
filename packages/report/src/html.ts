import type { ExperimentResult } from '@llem/core';
import type { ResultProblem } from '@llem/core/results';
import { type Figure, type Figures, renderFigures } from './figures.js';
import { buildReportModel, type ReportModel, type ReportOptions } from './model.js';
import { type Cell, configTable, resultsTable, type Table } from './tables.js';
import { escapeHtml } from './text.js';

/**
 * The HTML report: one self-contained file (inline CSS, the charts as inline SVG drawn by Vega when
 * the report is written, a few lines of inline JS for sorting tables), no external URL, opens
 * offline. Everything that comes from a result is escaped.
 */

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
figure{margin:20px 0}figure svg{max-width:100%;height:auto}
figcaption.how{color:#666;font-size:.85em;margin:2px 0 6px;max-width:900px}
ul.warnings{padding-left:0;list-style:none}ul.warnings li{margin:4px 0}
.count{display:inline-block;min-width:3.5em;font-variant-numeric:tabular-nums;color:#b00020;font-weight:600}
details{display:inline}summary{cursor:pointer;color:#555;font-size:.85em}
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

function td(cell: Cell): string {
  const tone = cell.tone ? ` ${cell.tone}` : '';
  if (cell.value !== undefined)
    return `<td class="n${tone}" data-v="${cell.value ?? ''}">${escapeHtml(cell.text)}</td>`;
  return `<td${cell.tone ? ` class="${cell.tone}"` : ''}>${escapeHtml(cell.text)}</td>`;
}

function table({ headers, rows }: Table): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map(td).join('')}</tr>`).join('');
  return `<div class="scroll"><table class="sortable"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function figure(f: Figure): string {
  // the chart draws its own title; the caption says how to read it
  return `<figure id="${escapeHtml(f.name)}" aria-label="${escapeHtml(f.title)}">${f.svg}<figcaption class="how">${escapeHtml(f.caption)}</figcaption></figure>`;
}

/** Each distinct warning on one line with the number of runs that gave it; the runs fold out. */
function warningsSection(model: ReportModel): string {
  if (model.warnings.length === 0) return '<p class="ok">No quality warnings.</p>';
  const items = model.warnings.map(
    (w) =>
      `<li class="warning"><span class="count">${w.count} ×</span> <span class="text">${escapeHtml(w.text)}</span> <details><summary>${w.count === 1 ? 'which run' : `which ${w.count} runs`}</summary>${escapeHtml(w.runs.join('; '))}</details></li>`,
  );
  return `<p class="note">Each warning once, with the number of runs (experiment-cycles) that gave it.</p><ul class="warnings">${items.join('')}</ul>`;
}

export function problemsSection(problems: readonly ResultProblem[]): string {
  if (problems.length === 0) return '';
  const items = problems.map(
    (p) =>
      `<li><code>${escapeHtml(p.path)}</code>: ${escapeHtml(p.reason)}${p.quarantinedTo ? ` (moved to <code>${escapeHtml(p.quarantinedTo)}</code>)` : ''}</li>`,
  );
  return `<h2>Files not included</h2><ul class="bad">${items.join('')}</ul>`;
}

/** The header lines shared by both page formats: counts, study, devices, versions, energy sources. */
export function headerLines(model: ReportModel): string[] {
  const lines = [
    `${model.results.length} result(s) (experiment-cycles) of ${model.configs.length} config(s); generated ${model.generatedAt.toISOString()}; llem ${model.versions.join(', ') || '-'}`,
  ];
  if (model.studies.length > 0) lines.push(`Study: ${model.studies.join(', ')}`);
  if (model.devices.length > 0) lines.push(`Devices: ${model.devices.join('; ')}`);
  lines.push(
    `Energy per output token (J/token) is ${model.sources.join(' / ') || 'not available'}. Figures are means over cycles with 95 % confidence intervals (Student t). Metric definitions: docs/results.md.`,
  );
  return lines;
}

export function renderHtml(model: ReportModel, figures: Figures): string {
  const sections: string[] = [];
  const [first, ...rest] = headerLines(model);
  sections.push(`<h1>${escapeHtml(model.title)}</h1>`);
  sections.push(`<p class="meta">${escapeHtml(first as string)}</p>`);
  for (const line of rest.slice(0, -1)) sections.push(`<p class="meta">${escapeHtml(line)}</p>`);
  sections.push(`<p class="note">${escapeHtml(rest[rest.length - 1] as string)}</p>`);

  sections.push('<h2>Energy against throughput</h2>');
  sections.push(
    figures.pareto
      ? figure(figures.pareto)
      : '<p class="note">No result has both energy per output token and throughput.</p>',
  );

  sections.push('<h2>Energy per token by sweep parameter</h2>');
  if (figures.dimensions.length === 0)
    sections.push('<p class="note">No parameter varies across these results.</p>');
  else if (figures.parameters.length === 0) sections.push('<p class="note">No energy per token to show.</p>');
  for (const f of figures.parameters) sections.push(figure(f));

  sections.push('<h2>Configs (mean over cycles)</h2>');
  sections.push(table(configTable(model)));
  sections.push('<h2>All results (one row per experiment-cycle)</h2>');
  sections.push(table(resultsTable(model)));

  sections.push('<h2>Power over time</h2>');
  if (figures.timelines.length === 0)
    sections.push('<p class="note">No timeseries found next to these results.</p>');
  for (const f of figures.timelines) sections.push(figure(f));
  if (figures.timelinesLeftOut > 0)
    sections.push(
      `<p class="note">${figures.timelinesLeftOut} more config(s) with a timeseries left out (limit ${model.maxTimelines}).</p>`,
    );

  sections.push('<h2>Quality warnings</h2>');
  sections.push(warningsSection(model));
  sections.push(problemsSection(model.problems));

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(model.title)}</title>
<style>${CSS}</style>
</head>
<body>
${sections.join('\n')}
<script>${SORT_SCRIPT}</script>
</body>
</html>
`;
}

/** Renders the report of `results` (any number of experiments and cycles) as one HTML document. */
export async function renderReport(
  results: readonly ExperimentResult[],
  options: ReportOptions = {},
): Promise<string> {
  const model = buildReportModel(results, options);
  return renderHtml(model, await renderFigures(model));
}
