import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SamplerTrace } from '@llem/core';
import { readResults, writeTimeseries } from '@llem/core/results';
import { makeResult, powerRow, tempDir } from '@llem/core/testing';
import { describe, expect, it } from 'vitest';
import {
  axisDomain,
  buildReport,
  dominates,
  interval,
  loadReportTimeseries,
  paretoFront,
  placeLabels,
  powerSpec,
  renderReport,
  renderSvg,
  thinSeries,
  writeReport,
} from '../src/index.js';
import { twoCycleSweep } from './fixtures.js';

const EVIL = '<script>alert("x")</script>&<img src=x onerror=alert(1)>';

function svgCount(html: string): number {
  return html.match(/<svg\b/g)?.length ?? 0;
}

describe('paretoFront', () => {
  it('keeps exactly the points no other point beats on both energy and throughput', () => {
    const points = [
      { throughput: 100, energy: 1.0 }, // 0: front (lowest throughput, but lowest energy)
      { throughput: 200, energy: 1.5 }, // 1: front
      { throughput: 150, energy: 2.0 }, // 2: dominated by 1
      { throughput: 300, energy: 3.0 }, // 3: front (highest throughput)
      { throughput: 300, energy: 3.5 }, // 4: dominated by 3 (same throughput, more energy)
      { throughput: 100, energy: 1.0 }, // 5: identical to 0: kept
      { throughput: Number.NaN, energy: 0.1 }, // 6: unusable
      { throughput: 50, energy: 5 }, // 7: dominated by everything
    ];
    expect(paretoFront(points)).toEqual([0, 5, 1, 3]);
    expect(dominates(points[1] as never, points[2] as never)).toBe(true);
    expect(dominates(points[0] as never, points[5] as never)).toBe(false);
    expect(paretoFront([])).toEqual([]);
  });
});

describe('renderReport', () => {
  it('is self-contained: no external URL, link, src or external reference, one inline script of ours', async () => {
    const { results, timeseries } = twoCycleSweep();
    const html = await renderReport(results, {
      title: 'Sweep',
      timeseries,
      generatedAt: new Date('2026-11-28T12:00:00Z'),
    });
    // the SVG namespaces are names, not addresses a browser fetches
    const text = html.replace(/xmlns(:xlink)?="http:\/\/www\.w3\.org\/[^"]*"/g, '');
    expect(text).not.toMatch(/https?:\/\//);
    expect(text).not.toMatch(/<link\b|\ssrc=|@import/i);
    // references stay inside the page (clip paths of the charts)
    for (const ref of text.matchAll(/(?:href="|url\()([^")]*)/g)) expect(ref[1]).toMatch(/^#/);
    expect(html.match(/<script\b/g)).toHaveLength(1);
    expect(html).toContain('<title>Sweep</title>');
    expect(html).toContain('2026-11-28T12:00:00.000Z');
  });

  it('draws one chart per view: the Pareto chart, one per varying parameter, one power chart per config', async () => {
    const { results, timeseries } = twoCycleSweep();
    // batch size and temperature vary: 1 + 2 charts, no timeseries
    expect(svgCount(await renderReport(results))).toBe(3);
    // the timeseries of the first config's two cycles: one chart with both cycles
    const html = await renderReport(results, { timeseries });
    expect(svgCount(html)).toBe(4);
    expect(html).toContain('Power: bs=1 · temperature=0.5');
    expect(html).not.toContain(`Power of ${results[0]?.experiment_id}`);
    // a single experiment: the scatter only, and the note that nothing varies
    const single = await renderReport([results[0] as never]);
    expect(svgCount(single)).toBe(1);
    expect(single).toContain('No parameter varies');
  });

  it('says where each J/token comes from and writes J/token on its axes', async () => {
    const { results } = twoCycleSweep();
    const html = await renderReport(results);
    expect(html).toContain('Energy per output token (J/token)');
    expect(html).toContain('measured, idle subtracted');
    const estimated = await renderReport([makeResult({ energyJ: null, adjustedJ: null })]);
    expect(estimated).not.toContain('measured, idle subtracted');
  });

  it('counts each warning once over the runs that gave it', async () => {
    const results = [1, 2, 3].map((batchSize) =>
      makeResult({
        batchSize,
        warnings: ['thermal throttling seen', batchSize === 1 ? 'only once' : 'twice'],
      }),
    );
    const html = await renderReport(results);
    const items = [
      ...html.matchAll(
        /<li class="warning"><span class="count">(\d+) ×<\/span> <span class="text">([^<]*)</g,
      ),
    ];
    expect(items.map((m) => [m[2], Number(m[1])])).toEqual([
      ['thermal throttling seen', 3],
      ['twice', 2],
      ['only once', 1],
    ]);
  });

  it('HTML-escapes model names, warnings, ids and titles everywhere, charts included', async () => {
    const results = [
      makeResult({ model: EVIL, warnings: [EVIL] }),
      makeResult({ model: 'gpt2', batchSize: 2, qualityOk: false }),
    ];
    const html = await renderReport(results, {
      title: EVIL,
      problems: [{ path: `/r/${EVIL}/result.json`, kind: 'invalid', reason: EVIL, fix: 'x' }],
    });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(html).toContain(
      '&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#60;img src=x onerror=alert(1)&#62;',
    );
    expect(html.match(/<script\b/g)).toHaveLength(1);
  });

  it('reads timeseries written next to result.json and writes the report atomically', async () => {
    const dir = await tempDir();
    const result = makeResult({ files: { timeseries_csv: 'timeseries.csv' } });
    const expDir = join(dir, result.experiment_id);
    await mkdir(expDir);
    const start = BigInt(result.window.start_mono_ns);
    const trace: SamplerTrace = {
      sampler: 'nvml',
      intervalMs: 100,
      devices: [
        {
          device: { id: 'gpu0', kind: 'gpu', name: 'H100' },
          source: 'counter',
          readings: [0, 1, 2, 3].map((i) => ({
            tMonoNs: start + BigInt(i) * 4_000_000_000n - 1_000_000_000n,
            powerW: 100 + i * 50,
          })),
        },
      ],
    };
    await writeTimeseries(expDir, [trace], result.window);
    await writeFile(join(expDir, 'result.json'), JSON.stringify(result));
    // a result naming a sidecar outside its directory is not followed
    const sneaky = makeResult({ batchSize: 3, files: { timeseries_csv: '../other/timeseries.csv' } });
    await mkdir(join(dir, 'sneaky'));
    await writeFile(join(dir, 'sneaky', 'result.json'), JSON.stringify(sneaky));

    const { results } = await readResults(dir);
    const timeseries = await loadReportTimeseries(results);
    expect([...timeseries.keys()]).toEqual([result.experiment_id]);
    expect(timeseries.get(result.experiment_id)?.map((r) => r.power_w)).toEqual([100, 150, 200, 250]);
    const path = join(dir, 'report.html');
    const written = await writeReport(
      path,
      results.map((r) => r.result),
      { timeseries },
    );
    expect(written).toEqual([{ path, role: 'report' }]);
    const html = await readFile(path, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('Power: ');
    expect((await readdir(dir)).filter((f) => f.includes('.tmp'))).toEqual([]);

    // buildReport does the same in one call and lists files it could not read
    await writeFile(
      join(dir, 'sneaky', 'result.json'),
      '{"schema_version": "1.0", "config_hash": "0123456789abcdef"',
    );
    const built = await buildReport(dir, { title: 'built', generatedAt: new Date(0) });
    expect(built.results).toHaveLength(1);
    expect(built.problems.map((p) => p.kind)).toEqual(['truncated']);
    expect(built.html).toContain('Files not included');
  });

  it('writes Markdown for a .md path: the page with its tables, the charts as SVG files it links to', async () => {
    const dir = await tempDir();
    const { results, timeseries } = twoCycleSweep();
    const path = join(dir, 'r.md');
    const written = await writeReport(path, results, { title: 'Sweep | *bold*', timeseries });
    expect(written.at(-1)).toEqual({ path, role: 'report' });
    const figures = written.filter((f) => f.role === 'figure').map((f) => f.path);
    expect(figures).toHaveLength(4);
    const md = await readFile(path, 'utf8');
    expect(md).not.toMatch(/<html|<svg|<table/i);
    expect(md.split('\n')[0]).toBe('# Sweep \\| \\*bold\\*');
    expect(md).toMatch(/^\| Config \| Model \|/m);
    expect(md).toContain('- **4 ×** GPU clock throttled during the window');
    const links = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => decodeURI(m[1] as string));
    expect(links.map((l) => join(dir, l)).sort()).toEqual([...figures].sort());
    for (const f of figures) expect(await readFile(f, 'utf8')).toMatch(/^<svg/);
  });
});

describe('chart axes', () => {
  it('cuts intervals at zero: a 2-cycle interval never takes an axis below zero', () => {
    // two cycles: t(0.975, 1) = 12.7, so the interval is far wider than the points
    expect(interval({ mean: 0.2, ci95: 1.5 })).toEqual({ lo: 0, hi: 1.7 });
    expect(interval({ mean: null, ci95: null })).toBeNull();
    const [lo, hi] = axisDomain([0.2, 0.25, 0.6], [{ lo: 0, hi: 1.7 }]);
    expect(lo).toBeGreaterThanOrEqual(0);
    // the points keep most of the axis: the interval widens it by at most a quarter of their span
    expect((0.6 - 0.2) / (hi - lo)).toBeGreaterThan(0.45);
    const [lo2] = axisDomain([1500, 2000], [{ lo: 0, hi: 4000 }]);
    expect(lo2).toBeGreaterThanOrEqual(0);
    expect(axisDomain([])).toEqual([0, 1]);
  });

  it('places point labels where they overlap neither each other nor the plot edge when there is room', () => {
    const points = [
      { x: 100, y: 100, text: 'bs=1 · temperature=0.5' },
      { x: 102, y: 104, text: 'bs=1 · temperature=1' },
      { x: 630, y: 10, text: 'bs=16 · temperature=0.5' },
    ];
    const places = placeLabels(points, 640, 340);
    const boxes = places.map((p, i) => ({
      x0: p.x,
      x1: p.x + (points[i]?.text.length ?? 0) * 6.2,
      y0: p.y - 6,
      y1: p.y + 6,
    }));
    for (const b of boxes) {
      expect(b.x0).toBeGreaterThanOrEqual(0);
      expect(b.x1).toBeLessThanOrEqual(640);
      expect(b.y0).toBeGreaterThanOrEqual(0);
    }
    const [a, b] = boxes as [(typeof boxes)[0], (typeof boxes)[0]];
    expect(
      Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) <= 0 || Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0) <= 0,
    ).toBe(true);
  });
});

describe('power charts', () => {
  it('draws an hour-long 8-GPU timeline (288 000 readings) as a bounded SVG', async () => {
    const rows = Array.from({ length: 288_000 }, (_, i) =>
      powerRow({
        t_rel_s: Math.floor(i / 8) / 10,
        device_id: `gpu${i % 8}`,
        power_w: 300 + (i % 13),
        in_window: true,
      }),
    );
    const spec = powerSpec('long', [{ cycle: null, rows, windowS: 3600 }]);
    expect(spec).not.toBeNull();
    const svg = await renderSvg(spec as never, 'long');
    // one line per GPU
    expect(svg.match(/class="mark-line role-mark power_marks"/g)).toHaveLength(8);
    expect(svg.length).toBeLessThan(400_000);
  });

  it('thins long series but keeps every peak and dip', () => {
    const points: [number, number][] = Array.from({ length: 100_000 }, (_, i) => [
      i / 10,
      i === 50_000 ? 900 : i === 70_000 ? 1 : 300,
    ]);
    const thin = thinSeries(points);
    expect(thin.length).toBeLessThanOrEqual(1200);
    expect(thin.some(([, w]) => w === 900)).toBe(true);
    expect(thin.some(([, w]) => w === 1)).toBe(true);
    expect(thin.map(([t]) => t)).toEqual([...thin.map(([t]) => t)].sort((a, b) => a - b));
  });
});
