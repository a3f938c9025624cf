import type { ExperimentResult } from '@llem/core';
import { formatResultsTable } from '@llem/core/results';
import Table from 'cli-table3';

/**
 * The results table (cli-table3): a column for every swept key and every config field that
 * differs, one row per config with mean ± 95 % CI over its cycles (or one row per
 * experiment-cycle with `perCycle`), then a line naming what is the same in every row.
 */
export function resultsTable(
  results: readonly ExperimentResult[],
  options: { perCycle?: boolean; swept?: readonly string[] } = {},
): string {
  const formatted = formatResultsTable(results, options);
  const table = new Table({
    head: formatted.columns.map((c) => c.header),
    colAligns: formatted.columns.map((c) => c.align),
    style: { head: [], border: [] },
  });
  for (const row of formatted.rows) table.push(row);
  const lines = [table.toString()];
  if (formatted.shared.length > 0)
    lines.push(
      `Every row: ${formatted.shared.map((f) => `${f.key} ${typeof f.value === 'string' ? f.value : JSON.stringify(f.value)}`).join(', ')}`,
    );
  const notes = [
    ...(!options.perCycle && formatted.rows.length < results.length
      ? ['mean ± 95 % CI over the n cycles of each config']
      : []),
    ...(formatted.rows.some((row) => row.some((cell) => cell.endsWith('(est.)')))
      ? ['~ (est.): estimated energy (no energy counter on this machine), not measured']
      : []),
  ];
  if (notes.length > 0) lines.push(`${notes.join('; ')}.`);
  return lines.join('\n');
}
