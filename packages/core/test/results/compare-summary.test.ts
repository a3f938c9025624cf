import { describe, expect, it } from 'vitest';
import {
  compareResults,
  formatPercent,
  formatSig3,
  formatSummaryRow,
  summaryRow,
} from '../../src/results/index.js';
import { makeResult } from '../../src/testing/result-fixtures.js';

describe('compareResults', () => {
  it('gives deltas in % and says which side improves, per metric direction', () => {
    const a = makeResult({ energyJ: 1000, adjustedJ: 800, ttftP50: 20 });
    const b = makeResult({ batchSize: 8, energyJ: 500, adjustedJ: 400, windowS: 5, ttftP50: 30 });
    const rows = Object.fromEntries(compareResults(a, b).map((r) => [r.metric, r]));
    expect(rows.energy_per_output_token_j).toMatchObject({
      a: 0.8,
      b: 0.4,
      delta_pct: -50,
      verdict: 'better',
    });
    expect(rows.output_tokens_per_s).toMatchObject({ a: 100, b: 200, delta_pct: 100, verdict: 'better' });
    expect(rows.ttft_p50_ms).toMatchObject({ delta: 10, delta_pct: 50, verdict: 'worse' });
    expect(rows.window_s).toMatchObject({ delta_pct: -50, verdict: null });
    expect(rows.itl_p50_ms?.verdict).toBe('same');
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
