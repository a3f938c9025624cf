/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { aggregateByConfig, allWarnings } from '@llem/core/results';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../src/index.js';
import { twoCycleSweep } from './fixtures.js';

/**
 * The HTML report as a user sees it: rendered by a real browser (Debian's chromium, headless,
 * offline), with the axis ranges, labels, titles and warnings read back from the page.
 */

const CHROMIUM = process.env.LLEM_CHROMIUM ?? '/usr/bin/chromium';
const userDataDir = await mkdtemp(join(tmpdir(), 'llem-chromium-'));
let skipReason = '';
// a fresh profile directory per run (the machine's network is closed: no sync, no updates)
const browser: BrowserContext | null = await chromium
  .launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  .catch((error: unknown) => {
    skipReason = `chromium cannot start (${CHROMIUM}): ${String((error as Error).message ?? error).split('\n')[0]}`;
    console.warn(`skipping the browser tests of the report: ${skipReason}`);
    return null;
  });

interface Axis {
  label: string;
  ticks: number[];
}

interface Chart {
  title: string;
  axes: Axis[];
  /** Text of the config point labels and their boxes, in page pixels. */
  labels: { text: string; x0: number; y0: number; x1: number; y1: number }[];
  /** The bounding box of the chart and of its plot area. */
  box: { x0: number; y0: number; x1: number; y1: number };
  plot: { x0: number; y0: number; x1: number; y1: number };
  /** Boxes of the config points (one per config). */
  configs: { x: number; y: number }[];
  powerLines: number;
  legend: string[];
}

async function charts(page: Page): Promise<Chart[]> {
  return page.evaluate(() => {
    const box = (e: Element) => {
      const r = e.getBoundingClientRect();
      return { x0: r.left, y0: r.top, x1: r.right, y1: r.bottom };
    };
    return [...document.querySelectorAll('figure svg')].map((svg) => ({
      title: svg.querySelector('.role-title-text text')?.textContent ?? '',
      axes: [...svg.querySelectorAll('g.role-axis[aria-label]')].map((axis) => ({
        label: axis.getAttribute('aria-label') ?? '',
        ticks: [...axis.querySelectorAll('.role-axis-label text')].map((t) =>
          Number((t.textContent ?? '').replace(/[,\u2212]/g, (c: string) => (c === ',' ? '' : '-'))),
        ),
      })),
      labels: [...svg.querySelectorAll('.labels_marks text')].map((t) => ({
        text: t.textContent ?? '',
        ...box(t),
      })),
      box: box(svg),
      plot: box(svg.querySelector('.role-frame > g > path.background') as Element),
      configs: [...svg.querySelectorAll('.configs_marks path')].map((p) => {
        const b = box(p);
        return { x: (b.x0 + b.x1) / 2, y: (b.y0 + b.y1) / 2 };
      }),
      powerLines: svg.querySelectorAll('.power_marks path').length,
      legend: [...svg.querySelectorAll('.role-legend-label text')].map((t) => t.textContent ?? ''),
    }));
  });
}

describe.skipIf(browser === null)(
  `the HTML report in chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    const { results, timeseries } = twoCycleSweep();
    let page: Page;
    let all: Chart[];
    let dir: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'llem-report-'));
      const file = join(dir, 'report.html');
      await writeReport(file, results, { title: 'Sweep', timeseries });
      const context = browser as BrowserContext;
      // the report is one offline file: any request it makes fails the test
      const requests: string[] = [];
      context.on('request', (r) => {
        if (!r.url().startsWith('file:')) requests.push(r.url());
      });
      page = await context.newPage();
      await page.goto(pathToFileURL(file).href);
      all = await charts(page);
      expect(requests).toEqual([]);
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await rm(userDataDir, { recursive: true, force: true });
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('no throughput, J/token or power axis goes below zero, though the 2-cycle intervals do', () => {
      // the premise: two cycles give intervals reaching far below zero on both axes
      const configs = aggregateByConfig(results);
      for (const metric of ['energy_per_output_token_j', 'output_tokens_per_s'] as const)
        expect(
          configs.some((c) => (c.stats[metric].mean as number) - (c.stats[metric].ci95 as number) < 0),
        ).toBe(true);
      const quantities = all.flatMap((c) => c.axes).filter((a) => /tok\/s|J\/token|Power/.test(a.label));
      expect(quantities.length).toBeGreaterThanOrEqual(5);
      for (const axis of quantities) {
        expect(axis.ticks.length, axis.label).toBeGreaterThan(1);
        expect(Math.min(...axis.ticks), axis.label).toBeGreaterThanOrEqual(0);
      }
      expect(quantities.some((a) => a.label.includes('Energy per output token (J/token)'))).toBe(true);
    });

    it('the points are spread over the plot, not squashed by the intervals', () => {
      const pareto = all.find((c) => c.title.startsWith('Energy per output token against'))!;
      expect(pareto.configs).toHaveLength(6);
      const ys = pareto.configs.map((p) => p.y);
      const xs = pareto.configs.map((p) => p.x);
      expect(Math.max(...ys) - Math.min(...ys)).toBeGreaterThan((pareto.plot.y1 - pareto.plot.y0) * 0.4);
      expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThan((pareto.plot.x1 - pareto.plot.x0) * 0.4);
    });

    it('labels every point with its config, inside the chart, no two labels overlapping', () => {
      const pareto = all.find((c) => c.title.startsWith('Energy per output token against'))!;
      const configLabels = [...new Set(pareto.labels.map((l) => l.text))].sort();
      expect(configLabels).toEqual(
        [
          'bs=1 · temperature=0.5',
          'bs=1 · temperature=1',
          'bs=4 · temperature=0.5',
          'bs=4 · temperature=1',
          'bs=16 · temperature=0.5',
          'bs=16 · temperature=1',
        ].sort(),
      );
      for (const l of pareto.labels) {
        expect(l.x0, l.text).toBeGreaterThanOrEqual(pareto.box.x0);
        expect(l.x1, l.text).toBeLessThanOrEqual(pareto.box.x1);
        expect(l.y0, l.text).toBeGreaterThanOrEqual(pareto.box.y0);
        expect(l.y1, l.text).toBeLessThanOrEqual(pareto.box.y1);
      }
      for (const [i, a] of pareto.labels.entries())
        for (const b of pareto.labels.slice(i + 1)) {
          const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
          const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
          expect(w > 1 && h > 1, `${a.text} overlaps ${b.text}`).toBe(false);
        }
    });

    it('titles power charts with the config label, not a hash, and overlays its cycles', () => {
      const power = all.filter((c) => c.title.startsWith('Power'));
      expect(power.map((c) => c.title)).toEqual(['Power: bs=1 · temperature=0.5']);
      for (const r of results) expect(power[0]!.title).not.toContain(r.config_hash);
      expect(power[0]!.powerLines).toBe(2);
      expect(power[0]!.legend).toEqual(['cycle 0', 'cycle 1']);
      // every chart has a title, and the sweep charts' legends read in the order of the values
      for (const c of all) expect(c.title).not.toBe('');
      const byTemperature = all.find((c) => c.title === 'Energy per output token by decoder.temperature')!;
      expect(byTemperature.legend).toEqual(['bs=1', 'bs=4', 'bs=16']);
    });

    it('shows each warning once, with the number of runs that gave it', async () => {
      const lines = await page.$$eval('li.warning', (items) =>
        items.map((li) => ({
          count: li.querySelector('.count')?.textContent ?? '',
          text: li.querySelector('.text')?.textContent ?? '',
        })),
      );
      const expected = new Map<string, number>();
      for (const r of results)
        for (const w of new Set(allWarnings(r))) expected.set(w, (expected.get(w) ?? 0) + 1);
      expect(lines.map((l) => l.text).sort()).toEqual([...expected.keys()].sort());
      for (const l of lines) expect(l.count).toBe(`${expected.get(l.text)} ×`);
      expect(expected.get('GPU clock throttled during the window')).toBe(4);
    });

    it('writes J/token on the energy axes and tables, and sorts a table by a click', async () => {
      const headers = await page.$$eval('table th', (ths) => ths.map((th) => th.textContent ?? ''));
      expect(headers).toContain('J/token (±95 % CI)');
      const table = page.locator('table.sortable').first();
      await table.locator('th', { hasText: 'J/token (±95 % CI)' }).click();
      const values = await table
        .locator('tbody tr td:nth-child(7)')
        .evaluateAll((tds) => tds.map((td) => Number(td.getAttribute('data-v'))));
      expect(values).toEqual([...values].sort((a, b) => a - b));
    });
  },
);
