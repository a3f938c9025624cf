import { formatSig3 } from '@llem/core/results';

/** Small pieces for hand-made inline SVG charts: escaping, scales, ticks, axes. No dependencies. */

/** Escapes text for HTML/SVG text and attribute values. Everything user-supplied goes through this. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#76b7b2',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

export function color(index: number): string {
  return PALETTE[index % PALETTE.length] as string;
}

export interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export const DEFAULT_FRAME: Frame = { width: 720, height: 380, left: 70, right: 20, top: 30, bottom: 50 };

export interface LinearScale {
  domain: [number, number];
  range: [number, number];
  (value: number): number;
}

export function linearScale(domain: [number, number], range: [number, number]): LinearScale {
  const [d0, d1] = domain[0] === domain[1] ? [domain[0] - 1, domain[1] + 1] : domain;
  const scale = ((value: number) =>
    range[0] + ((value - d0) / (d1 - d0)) * (range[1] - range[0])) as LinearScale;
  scale.domain = [d0, d1];
  scale.range = range;
  return scale;
}

/** About `count` round tick values (1, 2, 5 × 10^k steps) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Min and max of the finite values (a loop: spreading 10^5 values into Math.min overflows the stack). */
export function extent(values: Iterable<number>): [number | null, number | null] {
  let min: number | null = null;
  let max: number | null = null;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (min === null || v < min) min = v;
    if (max === null || v > max) max = v;
  }
  return [min, max];
}

/** A domain padded by 5 % on both sides, widened to nice ticks; `zero` forces 0 into it. */
export function paddedDomain(values: readonly number[], zero = false): [number, number] {
  const [min, max] = extent(values);
  let lo = min ?? 0;
  let hi = max ?? 1;
  if (zero) lo = Math.min(lo, 0);
  const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.1 || 1;
  if (!(zero && lo === 0)) lo -= pad;
  hi += pad;
  const ticks = niceTicks(lo, hi);
  return [Math.min(lo, ticks[0] ?? lo), Math.max(hi, ticks[ticks.length - 1] ?? hi)];
}

export const fmt = formatSig3;

/** Rounds SVG coordinates to 0.1 px: keeps the markup short. */
export function px(value: number): string {
  return (Math.round(value * 10) / 10).toString();
}

export function axes(
  frame: Frame,
  x: LinearScale,
  y: LinearScale,
  xLabel: string,
  yLabel: string,
  xTicks = niceTicks(...x.domain),
): string {
  const { left, top, width, height, right, bottom } = frame;
  const x1 = width - right;
  const y1 = height - bottom;
  const parts: string[] = [`<g class="axis">`];
  for (const t of niceTicks(...y.domain)) {
    const yy = px(y(t));
    parts.push(`<line class="grid" x1="${left}" x2="${x1}" y1="${yy}" y2="${yy}"/>`);
    parts.push(
      `<text x="${left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${escapeHtml(fmt(t))}</text>`,
    );
  }
  for (const t of xTicks) {
    const xx = px(x(t));
    parts.push(`<line class="tick" x1="${xx}" x2="${xx}" y1="${y1}" y2="${y1 + 4}"/>`);
    parts.push(`<text x="${xx}" y="${y1 + 16}" text-anchor="middle">${escapeHtml(fmt(t))}</text>`);
  }
  parts.push(`<line class="frame" x1="${left}" x2="${x1}" y1="${y1}" y2="${y1}"/>`);
  parts.push(`<line class="frame" x1="${left}" x2="${left}" y1="${top}" y2="${y1}"/>`);
  parts.push(
    `<text class="label" x="${px((left + x1) / 2)}" y="${height - 10}" text-anchor="middle">${escapeHtml(xLabel)}</text>`,
  );
  parts.push(
    `<text class="label" transform="translate(16 ${px((top + y1) / 2)}) rotate(-90)" text-anchor="middle">${escapeHtml(yLabel)}</text>`,
  );
  parts.push('</g>');
  return parts.join('');
}

export function svg(frame: Frame, title: string, body: string): string {
  return (
    `<svg class="chart" viewBox="0 0 ${frame.width} ${frame.height}" width="${frame.width}" height="${frame.height}" role="img" aria-label="${escapeHtml(title)}">` +
    `<title>${escapeHtml(title)}</title>${body}</svg>`
  );
}
