import {
  type ConfigAggregate,
  metricValue,
  type SampleStats,
  type Scalar,
  type TimeseriesRow,
} from '@llem/core/results';
import type { TopLevelSpec } from 'vega-lite';
import type { ReportConfig } from './model.js';
import { paretoFront } from './pareto.js';
import { fmt } from './text.js';

/**
 * The report's charts as Vega-Lite specs (vega.ts renders them to SVG): the Pareto chart, energy
 * per token by each swept parameter, and the power of each config's cycles over time. Pure
 * functions of the data, so their choices (axis ranges, labels, series) are testable without
 * drawing.
 */

const RED = '#e15759';
const GREY = '#79706e';
const LIGHT = '#b9b2ad';
const BLUE = '#4e79a7';

/** A 95 % confidence interval of a mean, cut at zero. */
export interface Interval {
  lo: number;
  hi: number;
}

/**
 * The 95 % CI of a mean (Student t), cut at zero: energy, throughput and power are never
 * negative, while two cycles give t = 12.7 and so intervals far below zero. Null without one.
 */
export function interval(stats: Pick<SampleStats, 'mean' | 'ci95'>): Interval | null {
  if (stats.mean === null || stats.ci95 === null) return null;
  return { lo: Math.max(0, stats.mean - stats.ci95), hi: stats.mean + stats.ci95 };
}

/** Round bounds around [lo, hi] (steps of 1, 2 or 5 × 10^k, about ten of them). */
export function niceDomain(lo: number, hi: number): [number, number] {
  if (!(hi > lo)) return [lo, hi];
  const raw = (hi - lo) / 10;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const round = (v: number) => Number(v.toPrecision(12));
  return [round(Math.floor(lo / step) * step), round(Math.ceil(hi / step) * step)];
}

/** How far an interval may widen an axis past the points, as a share of the points' own span. */
const INTERVAL_REACH = 0.25;

/**
 * An axis range for non-negative quantities: it holds every point (config means and single
 * cycles) and the intervals as far as a quarter of the points' span beyond them; a wider interval
 * is cut at the chart's edge (its full width is in the tables), so a 2-cycle interval never
 * squashes the points. Never below zero.
 */
export function axisDomain(values: readonly number[], intervals: readonly Interval[] = []): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  const min = finite.reduce((a, b) => Math.min(a, b));
  const max = finite.reduce((a, b) => Math.max(a, b));
  const reach = (max - min || Math.abs(max) * 0.2 || 1) * INTERVAL_REACH;
  let lo = min;
  let hi = max;
  for (const i of intervals) {
    lo = Math.min(lo, Math.max(i.lo, min - reach));
    hi = Math.max(hi, Math.min(i.hi, max + reach));
  }
  const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.1 || 1;
  return niceDomain(Math.max(0, lo - pad), hi + pad);
}

/** Points that span this factor or more (J/token from batch size 1 to 64, say) get a log axis. */
export const LOG_RATIO = 10;

/** An axis: its range, and whether it is a log scale. */
export interface AxisScale {
  domain: [number, number];
  log: boolean;
}

/** 1, 2 or 5 × 10^k at or below (`down`) or at or above `v` (> 0). */
function niceLog(v: number, direction: 'down' | 'up'): number {
  const power = 10 ** Math.floor(Math.log10(v));
  const steps = [1, 2, 5, 10].map((m) => Number((m * power).toPrecision(12)));
  return direction === 'down'
    ? (steps.filter((s) => s <= v).at(-1) ?? power)
    : (steps.find((s) => s >= v) ?? 10 * power);
}

/**
 * The axis of a positive quantity (J/token): a log scale when the points span LOG_RATIO or more,
 * so the cheap configs are not crowded at the bottom (intervals are then cut at its lower edge);
 * else a linear one from axisDomain.
 */
export function positiveAxis(values: readonly number[], intervals: readonly Interval[] = []): AxisScale {
  const finite = values.filter(Number.isFinite);
  const min = finite.length > 0 ? finite.reduce((a, b) => Math.min(a, b)) : 0;
  const max = finite.length > 0 ? finite.reduce((a, b) => Math.max(a, b)) : 0;
  if (finite.length > 1 && min > 0 && max / min >= LOG_RATIO)
    return { domain: [niceLog(min / 1.15, 'down'), niceLog(max * 1.15, 'up')], log: true };
  return { domain: axisDomain(values, intervals), log: false };
}

/** Pixel position of `v` on an axis drawn over [r0, r1]. */
const position =
  ({ domain: [d0, d1], log }: AxisScale, [r0, r1]: [number, number]) =>
  (v: number) => {
    const f = log
      ? (Math.log10(Math.max(v, d0)) - Math.log10(d0)) / (Math.log10(d1) - Math.log10(d0) || 1)
      : (v - d0) / (d1 - d0 || 1);
    return r0 + f * (r1 - r0);
  };

/**
 * An interval's end as drawn: cut at the axis's edges (on a log axis never 0), so that no mark
 * reaches past the plot and the chart keeps its size.
 */
const drawn = (axis: AxisScale, v: number | undefined) =>
  v === undefined ? null : Math.min(Math.max(v, axis.domain[0]), axis.domain[1]);

/** The ticks of a log axis: 1, 2 and 5 × 10^k inside its range (Vega's own crowd at 0.4, 0.5). */
function logTicks([lo, hi]: [number, number]): number[] {
  const out: number[] = [];
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++)
    for (const m of [1, 2, 5]) {
      const v = Number((m * 10 ** k).toPrecision(12));
      if (v >= lo && v <= hi) out.push(v);
    }
  return out;
}

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const overlap = (a: Box, b: Box) =>
  Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) *
  Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));

/** Where a point's label goes: its left edge and vertical middle, in pixels of the plot. */
export interface LabelPlace {
  x: number;
  y: number;
}

const LABEL_FONT = 10;
/** A generous average glyph width of a sans-serif font, as a share of the font size. */
export const GLYPH = 0.62;

/**
 * Places one label per point (pixel positions in a `width` × `height` plot), greedily in the
 * given order: beside, above or below its point, where it overlaps no label placed before, no
 * other point and stays inside the plot; where no such spot exists, the spot that overlaps least.
 * (Vega's own label transform needs a canvas, which headless Node has not.)
 */
export function placeLabels(
  points: readonly { x: number; y: number; text: string }[],
  width: number,
  height: number,
): LabelPlace[] {
  const h = LABEL_FONT + 2;
  const marks: Box[] = points.map((p) => ({ x0: p.x - 5, y0: p.y - 5, x1: p.x + 5, y1: p.y + 5 }));
  const placed: Box[] = [];
  return points.map((p, i) => {
    const w = p.text.length * LABEL_FONT * GLYPH;
    const candidates: LabelPlace[] = [
      { x: p.x + 8, y: p.y },
      { x: p.x - 8 - w, y: p.y },
      { x: p.x + 5, y: p.y - h },
      { x: p.x + 5, y: p.y + h },
      { x: p.x - w / 2, y: p.y - h - 2 },
      { x: p.x - w / 2, y: p.y + h + 2 },
      { x: p.x - 5 - w, y: p.y - h },
      { x: p.x - 5 - w, y: p.y + h },
    ];
    let best = candidates[0] as LabelPlace;
    let bestCost = Number.POSITIVE_INFINITY;
    for (const c of candidates) {
      const box = { x0: c.x, y0: c.y - h / 2, x1: c.x + w, y1: c.y + h / 2 };
      const outside = w * h - overlap(box, { x0: 0, y0: 0, x1: width, y1: height });
      const cost =
        outside * 4 +
        placed.reduce((s, b) => s + overlap(box, b), 0) * 2 +
        marks.reduce((s, b, j) => s + (j === i ? 0 : overlap(box, b)), 0);
      if (cost < bestCost) {
        best = c;
        bestCost = cost;
      }
      if (cost === 0) break;
    }
    placed.push({ x0: best.x, y0: best.y - h / 2, x1: best.x + w, y1: best.y + h / 2 });
    return best;
  });
}

const TPUT = 'Output throughput (tok/s)';
const JPT = 'Energy per output token (J/token)';

function ci(stats: SampleStats): string {
  return stats.ci95 === null ? '' : ` ± ${fmt(stats.ci95)}`;
}

/** The hover text of a config's point: label, hash, cycles, both figures with their intervals and sources. */
export function configTip(config: ReportConfig): string {
  const { aggregate: a } = config;
  const e = a.stats.energy_per_output_token_j;
  const t = a.stats.output_tokens_per_s;
  return `${a.label} (config ${a.config_hash}, n=${a.n}): ${fmt(e.mean)}${ci(e)} J/token (${config.source}), ${fmt(t.mean)}${ci(t)} tok/s`;
}

const quantitative = (field: string, axis: AxisScale, title: string) => ({
  field,
  type: 'quantitative' as const,
  scale: axis.log
    ? { type: 'log' as const, domain: axis.domain, nice: false }
    : { domain: axis.domain, nice: false, zero: false },
  ...(axis.log ? { axis: { values: logTicks(axis.domain) } } : {}),
  title: axis.log ? `${title}, log scale` : title,
});

export const PARETO_SIZE = { width: 640, height: 340 } as const;

/**
 * (a) Energy per output token against output throughput: a labelled point per config (the mean
 * over its cycles) with its intervals, each cycle as a small hollow point, the Pareto front in red.
 */
export function paretoSpec(configs: readonly ReportConfig[]): TopLevelSpec | null {
  const usable = configs.filter(
    (c) =>
      c.aggregate.stats.energy_per_output_token_j.mean !== null &&
      c.aggregate.stats.output_tokens_per_s.mean !== null,
  );
  if (usable.length === 0) return null;
  const mean = (c: ReportConfig) => ({
    x: c.aggregate.stats.output_tokens_per_s.mean as number,
    y: c.aggregate.stats.energy_per_output_token_j.mean as number,
  });
  const front = new Set(paretoFront(usable.map((c) => ({ throughput: mean(c).x, energy: mean(c).y }))));
  const cycles = usable.flatMap((c) =>
    c.aggregate.n < 2
      ? []
      : c.results.flatMap((r) => {
          const x = metricValue(r, 'output_tokens_per_s');
          const y = metricValue(r, 'energy_per_output_token_j');
          return x === null || y === null
            ? []
            : [
                {
                  x,
                  y,
                  status: 'one cycle',
                  tip: `${c.aggregate.label}, cycle ${r.cycle ?? '-'}: ${fmt(y)} J/token (${c.source}), ${fmt(x)} tok/s`,
                },
              ];
        }),
  );
  const xIntervals = usable.map((c) => interval(c.aggregate.stats.output_tokens_per_s));
  const yIntervals = usable.map((c) => interval(c.aggregate.stats.energy_per_output_token_j));
  const present = (list: (Interval | null)[]) => list.filter((i): i is Interval => i !== null);
  const xAxis: AxisScale = {
    domain: axisDomain([...usable.map((c) => mean(c).x), ...cycles.map((p) => p.x)], present(xIntervals)),
    log: false,
  };
  const yAxis = positiveAxis(
    [...usable.map((c) => mean(c).y), ...cycles.map((p) => p.y)],
    present(yIntervals),
  );
  const { width, height } = PARETO_SIZE;
  const px = position(xAxis, [0, width]);
  const py = position(yAxis, [height, 0]);
  // front points are labelled first: they get the best spots
  const order = usable.map((_, i) => i).sort((i, j) => Number(front.has(j)) - Number(front.has(i)));
  const places = placeLabels(
    order.map((i) => {
      const m = mean(usable[i] as ReportConfig);
      return { x: px(m.x), y: py(m.y), text: (usable[i] as ReportConfig).aggregate.label };
    }),
    width,
    height,
  );
  const points = usable.map((c, i) => {
    const place = places[order.indexOf(i)] as LabelPlace;
    return {
      ...mean(c),
      label: c.aggregate.label,
      status: front.has(i) ? 'on the Pareto front' : 'dominated',
      tip: `${configTip(c)}${front.has(i) ? '; on the Pareto front' : ''}`,
      xlo: drawn(xAxis, xIntervals[i]?.lo),
      xhi: drawn(xAxis, xIntervals[i]?.hi),
      ylo: drawn(yAxis, yIntervals[i]?.lo),
      yhi: drawn(yAxis, yIntervals[i]?.hi),
      lx: place.x,
      ly: place.y,
    };
  });
  const frontLine = points.filter((p) => p.status === 'on the Pareto front').sort((a, b) => a.x - b.x);
  const x = quantitative('x', xAxis, TPUT);
  const y = quantitative('y', yAxis, JPT);
  const status = {
    field: 'status',
    type: 'nominal' as const,
    scale: { domain: ['on the Pareto front', 'dominated', 'one cycle'], range: [RED, GREY, LIGHT] },
    legend: { title: null, orient: 'top' as const, direction: 'horizontal' as const },
  };
  return {
    title: 'Energy per output token against output throughput',
    width,
    height,
    layer: [
      {
        data: { values: points.filter((p) => p.xlo !== null) },
        mark: { type: 'rule', clip: true, color: LIGHT },
        encoding: { x: { ...x, field: 'xlo' }, x2: { field: 'xhi' }, y },
      },
      {
        data: { values: points.filter((p) => p.ylo !== null) },
        mark: { type: 'rule', clip: true, color: LIGHT },
        encoding: { y: { ...y, field: 'ylo' }, y2: { field: 'yhi' }, x },
      },
      {
        name: 'cycles',
        data: { values: cycles },
        mark: { type: 'point', filled: false, size: 28, strokeWidth: 1 },
        encoding: { x, y, color: status, description: { field: 'tip' } },
      },
      {
        data: { values: frontLine },
        mark: { type: 'line', color: RED, strokeDash: [5, 3], strokeWidth: 1.5 },
        encoding: { x, y, order: { field: 'x' } },
      },
      {
        name: 'configs',
        data: { values: points },
        mark: { type: 'point', filled: true, size: 70, opacity: 1 },
        encoding: { x, y, color: status, description: { field: 'tip' } },
      },
      {
        name: 'labels',
        data: { values: points },
        mark: {
          type: 'text',
          align: 'left',
          baseline: 'middle',
          fontSize: LABEL_FONT,
          color: '#333',
          aria: false,
        },
        encoding: {
          x: { field: 'lx', type: 'quantitative', scale: null },
          y: { field: 'ly', type: 'quantitative', scale: null },
          text: { field: 'label' },
        },
      },
    ],
  } as TopLevelSpec;
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

/** How a dimension is named on an axis or legend: `batch size`, `decoder.temperature`. */
export function dimensionTitle(key: string): string {
  return key === 'batch_size' ? 'batch size' : key;
}

const show = (v: Scalar) => (typeof v === 'string' ? v : JSON.stringify(v));

function sortValues(values: Scalar[]): Scalar[] {
  const unique = [...new Map(values.map((v) => [JSON.stringify(v), v])).values()];
  return unique.every((v) => typeof v === 'number')
    ? unique.sort((a, b) => (a as number) - (b as number))
    : unique;
}

/** Compact legend text: the model and precision as themselves, `bs=8`, `temperature=0.7`. */
function shortSetting(key: string, value: Scalar): string {
  if (key === 'model' || key === 'backend' || key === 'precision') return show(value);
  return `${key === 'batch_size' ? 'bs' : key.split('.').pop()}=${show(value)}`;
}

/** The series names in the order of their settings (numbers by value), so a legend reads bs=1, bs=4, bs=16. */
function seriesNames(
  configs: readonly ReportConfig[],
  others: readonly Dimension[],
  name: (c: ReportConfig) => string,
): string[] {
  const compare = (a: Scalar, b: Scalar) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : show(a).localeCompare(show(b));
  const sorted = [...configs].sort((a, b) => {
    for (const d of others) {
      const c = compare(d.value(a.aggregate), d.value(b.aggregate));
      if (c !== 0) return c;
    }
    return 0;
  });
  return [...new Set(sorted.map(name))];
}

/**
 * (b) Energy per output token by one sweep dimension: a line per combination of the other
 * dimensions (the legend), each config's mean with its interval and its cycles.
 */
export function parameterSpec(
  configs: readonly ReportConfig[],
  dimension: Dimension,
  others: readonly Dimension[],
): TopLevelSpec | null {
  const usable = configs.filter((c) => c.aggregate.stats.energy_per_output_token_j.mean !== null);
  if (usable.length === 0) return null;
  const categories = sortValues(usable.map((c) => dimension.value(c.aggregate))).map(show);
  const seriesOf = (c: ReportConfig) =>
    others.map((d) => shortSetting(d.key, d.value(c.aggregate))).join(', ') || 'all';
  const points = usable.map((c) => {
    const stats = c.aggregate.stats.energy_per_output_token_j;
    const i = interval(stats);
    return {
      cat: show(dimension.value(c.aggregate)),
      series: seriesOf(c),
      y: stats.mean as number,
      lo: i?.lo ?? null,
      hi: i?.hi ?? null,
      tip: configTip(c),
    };
  });
  const cycles = usable.flatMap((c) =>
    c.aggregate.n < 2
      ? []
      : c.results.flatMap((r) => {
          const y = metricValue(r, 'energy_per_output_token_j');
          return y === null
            ? []
            : [
                {
                  cat: show(dimension.value(c.aggregate)),
                  series: seriesOf(c),
                  y,
                  tip: `${c.aggregate.label}, cycle ${r.cycle ?? '-'}: ${fmt(y)} J/token (${c.source})`,
                },
              ];
        }),
  );
  const yAxis = positiveAxis(
    [...points.map((p) => p.y), ...cycles.map((p) => p.y)],
    points.flatMap((p) => (p.lo === null || p.hi === null ? [] : [{ lo: p.lo, hi: p.hi }])),
  );
  for (const p of points)
    if (p.lo !== null && p.hi !== null) {
      p.lo = drawn(yAxis, p.lo);
      p.hi = drawn(yAxis, p.hi);
    }
  const seriesOrder = seriesNames(usable, others, seriesOf);
  const seriesCount = seriesOrder.length;
  const x = {
    field: 'cat',
    type: 'ordinal' as const,
    sort: categories,
    title: dimensionTitle(dimension.key),
    axis: { labelAngle: 0, labelLimit: 120 },
  };
  const y = quantitative('y', yAxis, JPT);
  const color =
    seriesCount > 1
      ? {
          field: 'series',
          type: 'nominal' as const,
          title: others.map((d) => dimensionTitle(d.key)).join(', '),
          scale: { domain: seriesOrder },
          legend: seriesCount > 8 ? { orient: 'bottom' as const, columns: 3 } : { orient: 'right' as const },
        }
      : { value: BLUE };
  return {
    title: `Energy per output token by ${dimensionTitle(dimension.key)}`,
    width: Math.max(240, Math.min(560, categories.length * 90)),
    height: 260,
    layer: [
      {
        data: { values: points.filter((p) => p.lo !== null) },
        mark: { type: 'rule', clip: true, opacity: 0.6 },
        encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color },
      },
      {
        data: { values: points },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: { x, y, color },
      },
      {
        name: 'cycles',
        data: { values: cycles },
        mark: { type: 'point', filled: false, size: 24, opacity: 0.7 },
        encoding: { x, y, color, description: { field: 'tip' } },
      },
      {
        name: 'configs',
        data: { values: points },
        mark: { type: 'point', filled: true, size: 60, opacity: 1 },
        encoding: { x, y, color, description: { field: 'tip' } },
      },
    ],
  } as TopLevelSpec;
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

/** One run's power readings for a timeline: its cycle (null outside a study) and window length. */
export interface PowerRun {
  cycle: number | null;
  rows: readonly TimeseriesRow[];
  windowS: number;
}

/** `gpu0 (nvml)`, `cpu (cpu-estimate, estimated)`: a device's series name, saying when it is an estimate. */
function deviceName(row: TimeseriesRow): string {
  return `${row.device_id} (${row.sampler}${row.source === 'estimate' ? ', estimated' : ''})`;
}

const runLabel = (cycle: number | null) => (cycle === null ? 'run' : `cycle ${cycle}`);

/**
 * (c) The power of one config's runs over time, from the window start: its cycles overlaid (one
 * colour each; one dash per device when there are several), the measurement windows shaded.
 */
export function powerSpec(title: string, runs: readonly PowerRun[]): TopLevelSpec | null {
  const values: { t: number; w: number; run: string; device: string }[] = [];
  const devices = new Set<string>();
  for (const run of runs) {
    const series = new Map<string, [number, number][]>();
    for (const row of run.rows) {
      if (row.power_w === null) continue;
      const name = deviceName(row);
      const list = series.get(name);
      if (list) list.push([row.t_rel_s, row.power_w]);
      else series.set(name, [[row.t_rel_s, row.power_w]]);
    }
    for (const [device, points] of series) {
      devices.add(device);
      for (const [t, w] of thinSeries([...points].sort((a, b) => a[0] - b[0])))
        values.push({ t, w, run: runLabel(run.cycle), device });
    }
  }
  if (values.length === 0) return null;
  const shown = runs.filter((r) => values.some((v) => v.run === runLabel(r.cycle)));
  const several = shown.length > 1;
  let tMin = 0;
  let tMax = 0;
  for (const v of values) {
    if (v.t < tMin) tMin = v.t;
    if (v.t > tMax) tMax = v.t;
  }
  for (const r of shown) if (r.windowS > tMax) tMax = r.windowS;
  const x = {
    field: 't',
    type: 'quantitative' as const,
    scale: { domain: [tMin, tMax], nice: false, zero: false },
    title: 'Time from window start (s)',
  };
  const legend = { orient: 'right' as const };
  return {
    title,
    width: 640,
    height: 200,
    layer: [
      {
        name: 'windows',
        data: {
          values: shown.map((r) => ({
            start: 0,
            end: r.windowS,
            tip: `${runLabel(r.cycle)}: measurement window ${fmt(r.windowS)} s`,
          })),
        },
        mark: { type: 'rect', color: BLUE, opacity: several ? 0.06 : 0.12 },
        encoding: { x: { ...x, field: 'start' }, x2: { field: 'end' }, description: { field: 'tip' } },
      },
      {
        name: 'power',
        data: { values },
        mark: { type: 'line', strokeWidth: 1.2, interpolate: 'linear' },
        encoding: {
          x,
          y: { field: 'w', type: 'quantitative', title: 'Power (W)', scale: { zero: true } },
          color: several
            ? { field: 'run', type: 'nominal', title: 'cycle', legend }
            : { field: 'device', type: 'nominal', title: 'device', legend },
          ...(several && devices.size > 1
            ? { strokeDash: { field: 'device', type: 'nominal', title: 'device', legend } }
            : {}),
          detail: { field: several ? 'device' : 'run' },
          order: { field: 't' },
        },
      },
    ],
  } as TopLevelSpec;
}
