import type { Figure, Figures } from './figures.js';
import { headerLines } from './html.js';
import type { ReportModel } from './model.js';
import { configTable, resultsTable, type Table } from './tables.js';
import { escapeMarkdown } from './text.js';

/**
 * The Markdown report: the same sections as the HTML page, the charts as SVG files next to it
 * (`figuresDir`, relative to the page) linked as images, for a wiki, a pull request or a notebook.
 */

export interface MarkdownPage {
  text: string;
  /** The SVG files the page links to: a path relative to the page, and the markup. */
  figures: { path: string; svg: string }[];
}

function table({ headers, rows }: Table): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => r[i]?.value !== undefined));
  return [
    line(headers.map(escapeMarkdown)),
    line(numeric.map((n) => (n ? '---:' : '---'))),
    ...rows.map((r) => line(r.map((c) => escapeMarkdown(c.text)))),
  ].join('\n');
}

export function renderMarkdown(model: ReportModel, figures: Figures, figuresDir: string): MarkdownPage {
  const files: MarkdownPage['figures'] = [];
  const image = (f: Figure) => {
    const path = `${figuresDir}/${f.name}.svg`;
    files.push({ path, svg: f.svg });
    return `**${escapeMarkdown(f.title)}**\n\n![${escapeMarkdown(f.title)}](${encodeURI(path)})\n\n${escapeMarkdown(f.caption)}`;
  };
  const out: string[] = [
    `# ${escapeMarkdown(model.title)}`,
    headerLines(model).map(escapeMarkdown).join('  \n'),
  ];
  out.push('## Energy against throughput');
  out.push(
    figures.pareto ? image(figures.pareto) : 'No result has both energy per output token and throughput.',
  );
  out.push('## Energy per token by sweep parameter');
  if (figures.dimensions.length === 0) out.push('No parameter varies across these results.');
  for (const f of figures.parameters) out.push(image(f));
  out.push('## Configs (mean over cycles)', table(configTable(model)));
  out.push('## All results (one row per experiment-cycle)', table(resultsTable(model)));
  out.push('## Power over time');
  if (figures.timelines.length === 0) out.push('No timeseries found next to these results.');
  for (const f of figures.timelines) out.push(image(f));
  if (figures.timelinesLeftOut > 0)
    out.push(
      `${figures.timelinesLeftOut} more config(s) with a timeseries left out (limit ${model.maxTimelines}).`,
    );
  out.push('## Quality warnings');
  if (model.warnings.length === 0) out.push('No quality warnings.');
  else
    out.push(
      model.warnings
        .map((w) => `- **${w.count} ×** ${escapeMarkdown(w.text)} (${escapeMarkdown(w.runs.join('; '))})`)
        .join('\n'),
    );
  if (model.problems.length > 0) {
    out.push('## Files not included');
    out.push(
      model.problems.map((p) => `- \`${p.path.replace(/`/g, "'")}\`: ${escapeMarkdown(p.reason)}`).join('\n'),
    );
  }
  return { text: `${out.join('\n\n')}\n`, figures: files };
}
