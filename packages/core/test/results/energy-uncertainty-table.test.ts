import { describe, expect, it } from 'vitest';
import { formatResultsTable, summaryRow } from '../../src/results/index.js';
import { makeResult } from '../../src/testing/result-fixtures.js';

/** A fixture result whose energy carries an uncertainty (and, optionally, comes from a simulated GPU). */
function withUncertainty(totalJ: number, options: { simulated?: boolean; cycle?: number } = {}) {
  const result = makeResult({ energyJ: 1000, adjustedJ: 800, outputTokens: 100, cycle: options.cycle ?? 1 });
  const energy = result.energy!;
  energy.total.uncertainty = {
    granularity_j: 30,
    systematic_j: 40,
    baseline_j: null,
    total_j: totalJ,
    relative_pct: (totalJ / 800) * 100,
  };
  if (options.simulated) for (const d of energy.devices) d.source = 'simulated';
  result.efficiency.energy_per_output_token_uncertainty_j = totalJ / 100;
  return result;
}

describe('the energy uncertainty in results tables', () => {
  it('a per-cycle row prints ±total_j after its energy and ±total_j/token after J/token', () => {
    const table = formatResultsTable([withUncertainty(50)], { perCycle: true });
    const headers = table.columns.map((c) => c.header);
    const row = table.rows[0]!;
    expect(row[headers.indexOf('Energy J')]).toBe('800 ±50');
    expect(row[headers.indexOf('J/token')]).toBe('8 ±0.5');
  });

  it('a row over several cycles prints the cross-cycle 95 % interval instead', () => {
    const table = formatResultsTable([withUncertainty(50, { cycle: 1 }), withUncertainty(50, { cycle: 2 })]);
    const energy = table.rows[0]![table.columns.findIndex((c) => c.header === 'Energy J')];
    expect(energy).toBe('800 ± 0');
  });

  it('simulated energy says (sim.) in every energy cell', () => {
    const result = withUncertainty(50, { simulated: true });
    expect(summaryRow(result).energy_simulated).toBe(true);
    const table = formatResultsTable([result], { perCycle: true });
    const headers = table.columns.map((c) => c.header);
    expect(table.rows[0]![headers.indexOf('Energy J')]).toBe('800 ±50 (sim.)');
    expect(table.rows[0]![headers.indexOf('J/token')]).toBe('8 ±0.5 (sim.)');
  });
});
