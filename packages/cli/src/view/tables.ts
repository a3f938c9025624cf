import type { ExperimentResult } from '@llem/core';
import { formatSummaryRow, SUMMARY_COLUMNS, summaryRow } from '@llem/core/results';
import Table from 'cli-table3';

/** The results table (cli-table3): one row per result, the key metrics in SUMMARY_COLUMNS order. */
export function resultsTable(
  results: readonly ExperimentResult[],
  options: { cycle?: boolean } = {},
): string {
  const columns = options.cycle
    ? [
        ...SUMMARY_COLUMNS.slice(0, 4),
        { key: 'cycle' as const, header: 'Cycle', align: 'right' as const },
        ...SUMMARY_COLUMNS.slice(4),
      ]
    : SUMMARY_COLUMNS;
  const table = new Table({
    head: columns.map((c) => c.header),
    colAligns: columns.map((c) => c.align),
    style: { head: [], border: [] },
  });
  for (const result of results) {
    const row = formatSummaryRow(summaryRow(result));
    table.push(columns.map((c) => row[c.key]));
  }
  return table.toString();
}
