/**
 * @llem/core/results: reading results back (readResults, the one reader of result.json),
 * summary and study tables (CSV, Parquet), statistics, comparison, and the JSON Schemas.
 */
export * from './compare.js';
export * from './json-schemas.js';
export * from './metrics.js';
export * from './read-results.js';
export * from './statistics.js';
export * from './study-table.js';
export * from './summary.js';
export * from './table.js';
export * from './timeseries.js';
