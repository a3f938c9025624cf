import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SamplerTrace } from '@llem/core';
import { readResults, writeTimeseries } from '@llem/core/results';
import { makeResult, powerRow, tempDir } from '@llem/core/testing';
import { describe, expect, it } from 'vitest';
import {
  buildReport,
  dominates,
  loadReportTimeseries,
  niceTicks,
  paretoFront,
  powerTimeline,
  renderReport,
  thinSeries,
  writeReport,
} from '../src/index.js';

const EVIL = '<script>alert("x")</script>&<img src=x onerror=alert(1)>';

function sweep() {
  const results = [];
  for (let cycle = 0; cycle < 2; cycle++) {
    for (const batchSize of [1, 4, 16]) {
      for (const temperature of [0.5, 1]) {
        results.push(
          makeResult({
            batchSize,
            cycle,
            config: { decoder: { temperature } },
            energyJ: 1000 / batchSize + temperature * 50 + cycle * 5,
            windowS: 10 / Math.sqrt(batchSize),
          }),
        );
      }
    }
  }
  return results;
}

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
  it('is self-contained: no external URL, no link or src attribute, one inline script of ours', () => {
    const html = renderReport(sweep(), { title: 'Sweep', generatedAt: new Date('2026-11-28T12:00:00Z') });
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<link\b|\ssrc=|\shref=|@import|url\(/i);
    expect(html.match(/<script\b/g)).toHaveLength(1);
    expect(html).toContain('<title>Sweep</title>');
    expect(html).toContain('2026-11-28T12:00:00.000Z');
  });

  it('draws one SVG per chart: the Pareto chart, one per varying parameter, one per timeline', async () => {
    const results = sweep();
    // batch size and temperature vary: 1 + 2 charts, no timeseries
    expect(svgCount(renderReport(results))).toBe(3);
    const one = results[0]?.experiment_id as string;
    const rows = [
      powerRow({ t_rel_s: -1, power_w: 80, in_window: false }),
      powerRow({ t_rel_s: 5, power_w: 300, in_window: true }),
    ];
    const html = renderReport(results, { timeseries: { [one]: rows } });
    expect(svgCount(html)).toBe(4);
    expect(html).toMatch(/<rect class="window" [^>]*width="[1-9]/);
    // a single experiment: the scatter only, and the note that nothing varies
    const single = renderReport([results[0] as never]);
    expect(svgCount(single)).toBe(1);
    expect(single).toContain('No parameter varies');
  });

  it('highlights the Pareto front configs of the data', () => {
    const html = renderReport(sweep());
    // bigger batches are both faster and cheaper here; temperature 0.5 is cheaper at equal speed
    const frontLabels = [...html.matchAll(/<text class="pt-label"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(frontLabels).toEqual(['bs=16 · temperature=0.5']);
    expect(html.match(/class="pt front-pt"/g)).toHaveLength(2); // the point + the legend marker
  });

  it('HTML-escapes model names, warnings, ids and titles everywhere', () => {
    const results = [
      makeResult({ model: EVIL, warnings: [EVIL] }),
      makeResult({ model: 'gpt2', batchSize: 2, qualityOk: false }),
    ];
    const html = renderReport(results, {
      title: EVIL,
      problems: [{ path: `/r/${EVIL}/result.json`, kind: 'invalid', reason: EVIL, fix: 'x' }],
    });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(html).toContain(
      '&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#60;img src=x onerror=alert(1)&#62;',
    );
    expect(html.match(/<script\b/g)).toHaveLength(1);
    expect(html).toContain('window shorter than 5 s');
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
    const html = renderReport(
      results.map((r) => r.result),
      { timeseries },
    );
    const path = await writeReport(dir, html);
    expect(path).toBe(join(dir, 'report.html'));
    expect(await readFile(path, 'utf8')).toBe(html);
    expect(html).toContain(`Power of ${result.experiment_id}`);

    // buildReport does the same in one call and lists files it could not read
    await writeFile(
      join(dir, 'sneaky', 'result.json'),
      '{"schema_version": "1.0", "config_hash": "0123456789abcdef"',
    );
    const built = await buildReport(dir, { title: 'built', generatedAt: new Date(0) });
    expect(built.results).toHaveLength(1);
    expect(built.problems.map((p) => p.kind)).toEqual(['truncated']);
    expect(built.html).toContain('Files not included');
    expect(built.html).toContain(`Power of ${result.experiment_id}`);
  });
});

describe('chart helpers', () => {
  it('picks round ticks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 97)).toEqual([20, 40, 60, 80]);
  });
  it('draws an hour-long 8-GPU timeline (288 000 readings) as a bounded SVG', () => {
    const rows = Array.from({ length: 288_000 }, (_, i) =>
      powerRow({
        t_rel_s: Math.floor(i / 8) / 10,
        device_id: `gpu${i % 8}`,
        power_w: 300 + (i % 13),
        in_window: true,
      }),
    );
    const chart = powerTimeline('long', rows, 3600);
    expect(chart?.match(/<polyline/g)).toHaveLength(8);
    expect(chart?.length).toBeLessThan(200_000);
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
