export * from './experiment-result.js';
export * from './metrics.js';
export * from './statistics.js';
export * from './study-table.js';
export * from './table.js';
export * from './timeseries.js';
export * from './workload-result.js';
