import type { TopLevelSpec } from 'vega-lite';
import { GLYPH } from './charts.js';

/**
 * Renders a Vega-Lite spec to a standalone SVG string in Node, offline (no canvas, no network:
 * the data is inline in the spec). Vega and Vega-Lite are imported on the first chart only, so
 * loading this package costs nothing until a report is drawn.
 */

type Libraries = [typeof import('vega'), typeof import('vega-lite')];
let libraries: Promise<Libraries> | undefined;

interface TextItem {
  text?: unknown;
  fontSize?: number;
}

/**
 * Vega measures text with a canvas, which headless Node has not; its fallback (0.8 × font size a
 * glyph) overestimates a sans-serif font by a third, which pads charts with blank space (a long
 * axis title is laid out as if it stuck out of the plot) and truncates legends early. This
 * estimate is close to the fonts browsers use.
 */
function textWidth(item: TextItem, text?: unknown): number {
  const value = text ?? item.text;
  const lines = Array.isArray(value) ? value.map(String) : [String(value ?? '')];
  const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
  return Math.ceil(GLYPH * longest.length * (item.fontSize ?? 11));
}

function load(): Promise<Libraries> {
  libraries ??= Promise.all([import('vega'), import('vega-lite')]).then((loaded) => {
    (loaded[0] as unknown as { textMetrics: { width: typeof textWidth } }).textMetrics.width = textWidth;
    return loaded;
  });
  return libraries;
}

/** The look shared by every chart: fonts, a light frame, readable legends. */
export const CHART_CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  view: { stroke: '#ccc' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 11, labelLimit: 320, symbolLimit: 40 },
  title: { fontSize: 13, fontWeight: 'bold', anchor: 'start', limit: 900 },
} as const;

const GEOMETRY_ATTRIBUTE = /\s(d|transform|x|y|x1|x2|y1|y2|width|height)="([^"]*)"/g;

/** Coordinates to 0.01 px: the same picture in a third of the markup. */
function compactNumbers(svg: string): string {
  return svg.replace(
    GEOMETRY_ATTRIBUTE,
    (_, name: string, value: string) =>
      ` ${name}="${value.replace(/-?\d+\.\d{3,}/g, (n) => String(Math.round(Number(n) * 100) / 100))}"`,
  );
}

/**
 * A hover text for each data mark: Vega writes the mark's description as its aria-label; a
 * `<title>` child makes browsers show it as a tooltip, without a script.
 */
function tooltips(svg: string): string {
  return svg.replace(
    /<(path|rect|line)(\s[^>]*?aria-label="([^"]*)"[^>]*?role="graphics-symbol"[^>]*?)\/>/g,
    (_, tag: string, attributes: string, label: string) =>
      `<${tag}${attributes}><title>${label}</title></${tag}>`,
  );
}

/** Element ids (clip paths, gradients) made unique per chart, so that charts inlined in one page never share one. */
function scopeIds(svg: string, prefix: string): string {
  return svg
    .replace(/\sid="([^"]+)"/g, (_, id: string) => ` id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_, id: string) => `href="#${prefix}-${id}"`);
}

let charts = 0;

/** The SVG markup of one chart. `id` prefixes its element ids (default: a counter). */
export async function renderSvg(spec: TopLevelSpec, id = `chart${++charts}`): Promise<string> {
  const [vega, vegaLite] = await load();
  const compiled = vegaLite.compile({ ...spec, config: { ...CHART_CONFIG, ...spec.config } } as TopLevelSpec);
  const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return scopeIds(tooltips(compactNumbers(svg)), id);
  } finally {
    view.finalize();
  }
}
