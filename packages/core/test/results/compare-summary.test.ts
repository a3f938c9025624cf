import { describe, expect, it } from 'vitest';
import {
  compareResults,
  configDifferences,
  flattenConfig,
  formatPercent,
  formatResultsTable,
  formatSig3,
  formatSummaryRow,
  resultsTableRows,
  sampleStats,
  summaryRow,
  welchTTest,
} from '../../src/results/index.js';
import { makeResult } from '../../src/testing/result-fixtures.js';

/** Cycles of one config: one result per value of `energy` (J over a 10 s window, 1000 tokens). */
const cycles = (energies: number[], options: Parameters<typeof makeResult>[0] = {}) =>
  energies.map((energyJ, cycle) => makeResult({ ...options, cycle, energyJ, adjustedJ: null }));

describe('compareResults', () => {
  it('gives deltas in % per metric direction, but no better/worse at n=1: the noise is unknown', () => {
    const a = makeResult({ energyJ: 1000, adjustedJ: 800, ttftP50: 20 });
    const b = makeResult({ batchSize: 8, energyJ: 500, adjustedJ: 400, windowS: 5, ttftP50: 30 });
    const rows = Object.fromEntries(compareResults(a, b).map((r) => [r.metric, r]));
    expect(rows.energy_per_output_token_j).toMatchObject({
      a: 0.8,
      b: 0.4,
      delta_pct: -50,
      verdict: 'inconclusive',
      p_value: null,
      estimate: false,
    });
    expect(rows.output_tokens_per_s).toMatchObject({
      a: 100,
      b: 200,
      delta_pct: 100,
      verdict: 'inconclusive',
    });
    expect(rows.ttft_p50_ms).toMatchObject({ delta: 10, delta_pct: 50, verdict: 'inconclusive' });
    expect(rows.window_s).toMatchObject({ delta_pct: -50, verdict: null });
    expect(rows.itl_p50_ms?.verdict).toBe('same');
  });

  it('says better or worse only beyond noise (Welch t-test), "within-noise" otherwise', () => {
    const a = cycles([1000, 1010, 990]);
    // +4.5 % with a spread as large as the difference: within noise.
    const noisy = cycles([1045, 900, 1190]);
    expect(compareResults(a, noisy).find((r) => r.metric === 'energy_per_output_token_j')).toMatchObject({
      verdict: 'within-noise',
      n_a: 3,
      n_b: 3,
    });
    // +4.5 % with a tight spread: beyond noise, and worse (more J per token).
    const tight = cycles([1045, 1046, 1044]);
    const row = compareResults(a, tight).find((r) => r.metric === 'energy_per_output_token_j')!;
    expect(row.verdict).toBe('worse');
    expect(row.p_value).toBeLessThan(0.05);
    expect(row.a_ci95).toBeGreaterThan(0);
  });

  it('marks metrics from estimated energy', () => {
    const estimate = (r: ReturnType<typeof makeResult>) => {
      r.efficiency.basis = 'estimate';
      return r;
    };
    const rows = compareResults(cycles([10, 11]).map(estimate), cycles([12, 13]));
    expect(rows.find((r) => r.metric === 'energy_per_output_token_j')?.estimate).toBe(true);
    expect(rows.find((r) => r.metric === 'output_tokens_per_s')?.estimate).toBe(false);
  });

  it('compares the means of two groups of cycles and handles missing values', () => {
    const as = [
      makeResult({ cycle: 0, energyJ: 100, adjustedJ: null }),
      makeResult({ cycle: 1, energyJ: 300, adjustedJ: null }),
    ];
    const bs = [makeResult({ cycle: 0, energyJ: null, ttftP50: null, itlP50: null })];
    const rows = Object.fromEntries(compareResults(as, bs).map((r) => [r.metric, r]));
    expect(rows.energy_measured_j).toMatchObject({
      a: 200,
      b: null,
      delta: null,
      delta_pct: null,
      verdict: null,
      n_a: 2,
      n_b: 0,
    });
    expect(rows.energy_adjusted_j).toMatchObject({ a: null, n_a: 0 });
  });
});

describe('welchTTest', () => {
  it('needs two values a side; equal samples without spread are not different', () => {
    expect(welchTTest(sampleStats([1]), sampleStats([1, 2]))).toBeNull();
    expect(welchTTest(sampleStats([2, 2]), sampleStats([2, 2]))?.p).toBe(1);
    expect(welchTTest(sampleStats([2, 2]), sampleStats([3, 3]))?.p).toBe(0);
    const t = welchTTest(sampleStats([1, 2, 3, 4]), sampleStats([2, 3, 4, 5]))!;
    expect(t.t).toBeCloseTo(1.0954, 3);
    expect(t.dof).toBeCloseTo(6, 6);
    expect(t.p).toBeCloseTo(0.3153, 3);
  });
});

const batchOf = (r: ReturnType<typeof makeResult>) => flattenConfig(r.config)['pytorch.batch_size'];

describe('config differences and results tables', () => {
  const sweep = [1, 2].flatMap((batchSize) =>
    [32, 64].flatMap((tokens) =>
      [0, 1].map((cycle) =>
        makeResult({
          batchSize,
          cycle,
          config: { max_output_tokens: tokens },
          energyJ: 100 * batchSize + cycle,
        }),
      ),
    ),
  );

  it('names the config fields that differ between two sides', () => {
    const a = sweep.filter((r) => batchOf(r) === 1 && r.config.max_output_tokens === 32);
    const b = sweep.filter((r) => batchOf(r) === 2 && r.config.max_output_tokens === 32);
    expect(configDifferences(a, b)).toEqual([{ key: 'pytorch.batch_size', a: [1], b: [2] }]);
    expect(configDifferences(a, a)).toEqual([]);
  });

  it('one row per config with mean ± CI over its cycles, a column per differing field', () => {
    const rows = resultsTableRows(sweep);
    expect(rows).toHaveLength(4);
    expect(rows.map((r) => r.params)).toEqual([
      { 'pytorch.batch_size': 1, max_output_tokens: 32 },
      { 'pytorch.batch_size': 1, max_output_tokens: 64 },
      { 'pytorch.batch_size': 2, max_output_tokens: 32 },
      { 'pytorch.batch_size': 2, max_output_tokens: 64 },
    ]);
    expect(rows[0]).toMatchObject({ n: 2, cycle: null });
    expect(rows[0]!.energy_j.mean).toBeCloseTo(60.3, 6); // adjusted: 0.6 x (100, 101)
    expect(rows[0]!.energy_j.ci95).not.toBeNull();
    expect(resultsTableRows(sweep, { perCycle: true })).toHaveLength(8);

    const table = formatResultsTable(sweep);
    // Differing fields in the config's own order; a study's swept keys first when given.
    expect(table.columns.map((c) => c.header).slice(0, 3)).toEqual([
      'max_output_tokens',
      'pytorch.batch_size',
      'n',
    ]);
    expect(table.rows.map((r) => r.slice(0, 2).join('/'))).toEqual(['32/1', '64/1', '32/2', '64/2']);
    const swept = formatResultsTable(sweep, { swept: ['pytorch.batch_size', 'max_output_tokens'] });
    expect(swept.columns.map((c) => c.header).slice(0, 2)).toEqual([
      'pytorch.batch_size',
      'max_output_tokens',
    ]);
    expect(table.rows[0]![table.columns.findIndex((c) => c.header === 'Energy J')]).toMatch(/^60\.3 ± \d/);
    expect(table.shared).toEqual(
      expect.arrayContaining([
        { key: 'model', value: 'builtin:tiny-gpt2' },
        { key: 'backend', value: 'pytorch' },
      ]),
    );
    // A swept key with one value is still a column.
    const one = sweep.filter((r) => batchOf(r) === 1);
    expect(formatResultsTable(one, { swept: ['pytorch.batch_size'] }).columns[0]?.header).toBe(
      'pytorch.batch_size',
    );
  });
});

describe('summary rows', () => {
  it('summarises one result for a table', () => {
    const row = summaryRow(
      makeResult({
        model: 'gpt2',
        precision: 'fp16',
        batchSize: 4,
        energyJ: 1234.5,
        adjustedJ: 1000,
        warnings: ['x'],
      }),
    );
    expect(row).toMatchObject({
      model: 'gpt2',
      backend: 'pytorch',
      precision: 'fp16',
      batch_size: 4,
      energy_per_output_token_j: 1,
      output_tokens_per_s: 100,
      ttft_p50_ms: 25,
      energy_j: 1000,
      energy_basis: 'adjusted',
      quality: 'warn',
    });
    expect(summaryRow(makeResult({ energyJ: null })).quality).toBe('n/a');
    expect(summaryRow(makeResult()).quality).toBe('ok');
    expect(formatSummaryRow(row)).toMatchObject({
      batch_size: '4',
      energy_j: '1000',
      energy_per_output_token_j: '1',
      quality: 'warn',
    });
  });

  it('shows an estimate-only energy as the estimate, labelled so', () => {
    const result = makeResult({ energyJ: 100, adjustedJ: null });
    const energy = result.energy!;
    energy.devices = energy.devices.map((device) => ({ ...device, kind: 'cpu', source: 'estimate' }));
    energy.total = { measured_j: 0, estimated_j: 100, baseline_j: null, adjusted_j: null };
    const row = summaryRow(result);
    expect(row.energy_j).toBe(100);
    expect(row.energy_basis).toBe('estimate');
    expect(formatSummaryRow(row)).toMatchObject({ energy_j: '~100 (est.)' });
  });

  it('formats three significant figures and signed percentages', () => {
    expect([312.4, 1234, 0.003124, 0, 12.345, -0.5, null].map(formatSig3)).toEqual([
      '312',
      '1234',
      '0.00312',
      '0',
      '12.3',
      '-0.5',
      '-',
    ]);
    expect([12.34, -0.5, 0, null].map(formatPercent)).toEqual(['+12.3 %', '-0.5 %', '0 %', '-']);
  });
});
