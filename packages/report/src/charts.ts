import type { ConfigAggregate, Scalar, TimeseriesRow } from '@llem/core/results';
import { paretoFront } from './pareto.js';
import {
  axes,
  color,
  DEFAULT_FRAME,
  escapeHtml,
  extent,
  type Frame,
  fmt,
  linearScale,
  paddedDomain,
  px,
  svg,
} from './svg.js';

/** The inline SVG charts of the HTML report. Each function returns one `<svg>` or null when it has nothing to draw. */

const MAX_LABEL = 40;

function clip(text: string, max = MAX_LABEL): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function errorBar(x1: number, y1: number, x2: number, y2: number, cap: 'h' | 'v'): string {
  const c = 3;
  const caps =
    cap === 'h'
      ? `<line x1="${px(x1 - c)}" x2="${px(x1 + c)}" y1="${px(y1)}" y2="${px(y1)}"/><line x1="${px(x2 - c)}" x2="${px(x2 + c)}" y1="${px(y2)}" y2="${px(y2)}"/>`
      : `<line x1="${px(x1)}" x2="${px(x1)}" y1="${px(y1 - c)}" y2="${px(y1 + c)}"/><line x1="${px(x2)}" x2="${px(x2)}" y1="${px(y2 - c)}" y2="${px(y2 + c)}"/>`;
  return `<g class="err"><line x1="${px(x1)}" x2="${px(x2)}" y1="${px(y1)}" y2="${px(y2)}"/>${caps}</g>`;
}

function pointTitle(a: ConfigAggregate): string {
  const e = a.stats.energy_per_output_token_j;
  const t = a.stats.output_tokens_per_s;
  const ci = (v: number | null) => (v === null ? '' : ` ± ${fmt(v)}`);
  return `${a.label} (${a.config_hash}, n=${a.n}): ${fmt(e.mean)}${ci(e.ci95)} J/token, ${fmt(t.mean)}${ci(t.ci95)} tok/s`;
}

/** (a) Energy per output token against output throughput, one point per config, Pareto front highlighted. */
export function paretoChart(
  aggregates: readonly ConfigAggregate[],
  frame: Frame = DEFAULT_FRAME,
): string | null {
  const points = aggregates.filter(
    (a) => a.stats.energy_per_output_token_j.mean !== null && a.stats.output_tokens_per_s.mean !== null,
  );
  if (points.length === 0) return null;
  const xs = points.map((a) => a.stats.output_tokens_per_s);
  const ys = points.map((a) => a.stats.energy_per_output_token_j);
  const spread = (s: { mean: number | null; ci95: number | null }) => [
    (s.mean as number) - (s.ci95 ?? 0),
    (s.mean as number) + (s.ci95 ?? 0),
  ];
  const x = linearScale(paddedDomain(xs.flatMap(spread)), [frame.left, frame.width - frame.right]);
  const y = linearScale(paddedDomain(ys.flatMap(spread)), [frame.height - frame.bottom, frame.top]);
  const front = new Set(
    paretoFront(points.map((_, i) => ({ throughput: xs[i]?.mean as number, energy: ys[i]?.mean as number }))),
  );
  const body: string[] = [axes(frame, x, y, 'Output throughput (tok/s)', 'Energy per output token (J)')];
  const frontOrder = [...front].sort((i, j) => (xs[i]?.mean as number) - (xs[j]?.mean as number));
  if (frontOrder.length > 1) {
    const line = frontOrder
      .map((i) => `${px(x(xs[i]?.mean as number))},${px(y(ys[i]?.mean as number))}`)
      .join(' ');
    body.push(`<polyline class="front" points="${line}"/>`);
  }
  points.forEach((a, i) => {
    const cx = x(xs[i]?.mean as number);
    const cy = y(ys[i]?.mean as number);
    const ex = xs[i]?.ci95 ?? null;
    const ey = ys[i]?.ci95 ?? null;
    if (ex !== null)
      body.push(errorBar(x((xs[i]?.mean as number) - ex), cy, x((xs[i]?.mean as number) + ex), cy, 'v'));
    if (ey !== null)
      body.push(errorBar(cx, y((ys[i]?.mean as number) - ey), cx, y((ys[i]?.mean as number) + ey), 'h'));
    const onFront = front.has(i);
    body.push(
      `<circle class="${onFront ? 'pt front-pt' : 'pt'}" cx="${px(cx)}" cy="${px(cy)}" r="${onFront ? 5 : 4}"><title>${escapeHtml(pointTitle(a))}${onFront ? ' (Pareto front)' : ''}</title></circle>`,
    );
    if (onFront) {
      // labels near the right edge grow leftwards so they stay inside the chart
      const leftwards = cx > frame.width - frame.right - 180;
      body.push(
        `<text class="pt-label" x="${px(leftwards ? cx - 7 : cx + 7)}" y="${px(cy - 7)}"${leftwards ? ' text-anchor="end"' : ''}>${escapeHtml(clip(a.label))}</text>`,
      );
    }
  });
  body.push(
    `<g class="legend"><circle class="pt front-pt" cx="${frame.left + 12}" cy="14" r="5"/><text x="${frame.left + 22}" y="18">Pareto front (lower J/token, higher tok/s)</text>` +
      `<circle class="pt" cx="${frame.left + 300}" cy="14" r="4"/><text x="${frame.left + 310}" y="18">dominated</text></g>`,
  );
  return svg(frame, 'Energy per output token against output throughput', body.join(''));
}

/** One sweep dimension of the report: model, precision, batch size or a swept config key. */
export interface Dimension {
  key: string;
  value(aggregate: ConfigAggregate): Scalar;
}

/** The dimensions that vary across configs, main ones first. */
export function sweepDimensions(aggregates: readonly ConfigAggregate[]): Dimension[] {
  const candidates: Dimension[] = [
    { key: 'model', value: (a) => a.model },
    { key: 'backend', value: (a) => a.backend },
    { key: 'precision', value: (a) => a.precision },
    { key: 'batch_size', value: (a) => a.batch_size },
    ...Object.keys(aggregates[0]?.params ?? {}).map((key) => ({
      key,
      value: (a: ConfigAggregate) => a.params[key] ?? null,
    })),
  ];
  return candidates.filter((d) => new Set(aggregates.map((a) => JSON.stringify(d.value(a)))).size > 1);
}

function sortValues(values: Scalar[]): Scalar[] {
  const unique = [...new Map(values.map((v) => [JSON.stringify(v), v])).values()];
  return unique.every((v) => typeof v === 'number')
    ? unique.sort((a, b) => (a as number) - (b as number))
    : unique;
}

const show = (v: Scalar) => (typeof v === 'string' ? v : JSON.stringify(v));

/** Compact legend text: the model and precision as themselves, `bs=8`, `temperature=0.7`. */
function shortSetting(key: string, value: Scalar): string {
  if (key === 'model' || key === 'backend' || key === 'precision') return show(value);
  return `${key === 'batch_size' ? 'bs' : key.split('.').pop()}=${show(value)}`;
}

/** (b) Energy per output token by one sweep dimension: a line per combination of the other dimensions. */
export function parameterChart(
  aggregates: readonly ConfigAggregate[],
  dimension: Dimension,
  others: readonly Dimension[],
  frame: Frame = { ...DEFAULT_FRAME, width: 840, right: 280 },
): string | null {
  const usable = aggregates.filter((a) => a.stats.energy_per_output_token_j.mean !== null);
  if (usable.length === 0) return null;
  const categories = sortValues(usable.map((a) => dimension.value(a)));
  const band = (frame.width - frame.left - frame.right) / categories.length;
  const xAt = (v: Scalar) =>
    frame.left + band * (categories.findIndex((c) => JSON.stringify(c) === JSON.stringify(v)) + 0.5);
  const stats = usable.map((a) => a.stats.energy_per_output_token_j);
  const y = linearScale(
    paddedDomain(
      stats.flatMap((s) => [(s.mean as number) - (s.ci95 ?? 0), (s.mean as number) + (s.ci95 ?? 0)]),
      true,
    ),
    [frame.height - frame.bottom, frame.top],
  );
  const x = linearScale([0, 1], [frame.left, frame.width - frame.right]);
  const body: string[] = [axes(frame, x, y, dimension.key, 'Energy per output token (J)', [])];
  categories.forEach((c) => {
    body.push(
      `<text class="cat" x="${px(xAt(c))}" y="${frame.height - frame.bottom + 16}" text-anchor="middle">${escapeHtml(clip(show(c), 16))}</text>`,
    );
  });
  const series = new Map<string, ConfigAggregate[]>();
  for (const a of usable) {
    const key = others.map((d) => shortSetting(d.key, d.value(a))).join(', ') || 'all';
    series.set(key, [...(series.get(key) ?? []), a]);
  }
  [...series.entries()].forEach(([name, group], s) => {
    const stroke = color(s);
    const ordered = [...group].sort((a, b) => xAt(dimension.value(a)) - xAt(dimension.value(b)));
    if (ordered.length > 1) {
      const line = ordered
        .map(
          (a) => `${px(xAt(dimension.value(a)))},${px(y(a.stats.energy_per_output_token_j.mean as number))}`,
        )
        .join(' ');
      body.push(`<polyline class="series" stroke="${stroke}" points="${line}"/>`);
    }
    for (const a of ordered) {
      const st = a.stats.energy_per_output_token_j;
      const cx = xAt(dimension.value(a));
      if (st.ci95 !== null)
        body.push(errorBar(cx, y((st.mean as number) - st.ci95), cx, y((st.mean as number) + st.ci95), 'h'));
      body.push(
        `<circle cx="${px(cx)}" cy="${px(y(st.mean as number))}" r="4" fill="${stroke}"><title>${escapeHtml(pointTitle(a))}</title></circle>`,
      );
    }
    if (s < 14) {
      const ly = frame.top + 8 + s * 18;
      const lx = frame.width - frame.right + 12;
      body.push(
        `<g class="legend"><rect x="${lx}" y="${ly - 6}" width="10" height="10" fill="${stroke}"/><text x="${lx + 14}" y="${ly + 3}">${escapeHtml(clip(name, 40))}</text></g>`,
      );
    } else if (s === 14) {
      body.push(
        `<text class="legend" x="${frame.width - frame.right + 12}" y="${frame.top + 8 + s * 18}">… ${series.size - 14} more</text>`,
      );
    }
  });
  return svg(frame, `Energy per output token by ${dimension.key}`, body.join(''));
}

const MAX_POINTS_PER_SERIES = 1200;

/** Keeps the min and max of each of ~600 time buckets, so peaks survive the thinning. */
export function thinSeries(points: readonly [number, number][]): [number, number][] {
  if (points.length <= MAX_POINTS_PER_SERIES) return [...points];
  const buckets = MAX_POINTS_PER_SERIES / 2;
  const t0 = (points[0] as [number, number])[0];
  const span = (points[points.length - 1] as [number, number])[0] - t0 || 1;
  const out: [number, number][] = [];
  let current = -1;
  let lo: [number, number] | null = null;
  let hi: [number, number] | null = null;
  const flush = () => {
    if (!lo || !hi) return;
    if (lo === hi) out.push(lo);
    else out.push(...(lo[0] <= hi[0] ? [lo, hi] : [hi, lo]));
  };
  for (const p of points) {
    const b = Math.min(buckets - 1, Math.floor(((p[0] - t0) / span) * buckets));
    if (b !== current) {
      flush();
      current = b;
      lo = p;
      hi = p;
    } else {
      if (p[1] < (lo as [number, number])[1]) lo = p;
      if (p[1] > (hi as [number, number])[1]) hi = p;
    }
  }
  flush();
  return out;
}

/** (c) Power of each device over time for one experiment, the measurement window shaded. */
export function powerTimeline(
  title: string,
  rows: readonly TimeseriesRow[],
  windowS: number,
  frame: Frame = { ...DEFAULT_FRAME, height: 260, right: 140 },
): string | null {
  const series = new Map<string, [number, number][]>();
  for (const row of rows) {
    if (row.power_w === null) continue;
    const key = `${row.device_id} (${row.sampler})`;
    const list = series.get(key);
    if (list) list.push([row.t_rel_s, row.power_w]);
    else series.set(key, [[row.t_rel_s, row.power_w]]);
  }
  if (series.size === 0) return null;
  const thinned = [...series.entries()].map(
    ([name, points]) => [name, thinSeries([...points].sort((a, b) => a[0] - b[0]))] as const,
  );
  const all = thinned.flatMap(([, points]) => points);
  const [tMin, tMax] = extent(all.map((p) => p[0]));
  const x = linearScale(
    [Math.min(tMin ?? 0, 0), Math.max(tMax ?? 0, windowS)],
    [frame.left, frame.width - frame.right],
  );
  const y = linearScale(
    paddedDomain(
      all.map((p) => p[1]),
      true,
    ),
    [frame.height - frame.bottom, frame.top],
  );
  const body: string[] = [
    `<rect class="window" x="${px(x(0))}" y="${frame.top}" width="${px(Math.max(0, x(windowS) - x(0)))}" height="${frame.height - frame.bottom - frame.top}"><title>measurement window: ${escapeHtml(fmt(windowS))} s</title></rect>`,
    axes(frame, x, y, 'Time from window start (s)', 'Power (W)'),
  ];
  thinned.forEach(([name, points], s) => {
    const line = points.map(([t, w]) => `${px(x(t))},${px(y(w))}`).join(' ');
    body.push(`<polyline class="series" stroke="${color(s)}" points="${line}"/>`);
    const ly = frame.top + 8 + s * 18;
    const lx = frame.width - frame.right + 12;
    body.push(
      `<g class="legend"><rect x="${lx}" y="${ly - 6}" width="10" height="10" fill="${color(s)}"/><text x="${lx + 14}" y="${ly + 3}">${escapeHtml(clip(name, 20))}</text></g>`,
    );
  });
  return svg(frame, title, body.join(''));
}
