/**
 * Behavioural contract suites that every implementation runs (ours and third parties'), and the
 * `script` test backend they measure with. Import from `@llem/core/testing` inside a vitest test
 * file; another process loads the script backend as a plugin module from
 * `@llem/core/testing/script-backend` (no vitest there).
 */
export * from './backend-contract.js';
export * from './bundle-child.js';
export * from './crash-loop.js';
export * from './crash-writer.js';
export * from './executor-contract.js';
export * from './result-fixtures.js';
export * from './runner-contract.js';
export * from './script-backend.js';
export * from './state-store-contract.js';
export * from './store-crash-suite.js';
