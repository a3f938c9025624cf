/**
 * Behavioural contract suites that every implementation runs (ours and third parties').
 * Import from `@llem/core/testing` inside a vitest test file.
 */
export * from './backend-contract.js';
export * from './bundle-child.js';
export * from './crash-loop.js';
export * from './crash-writer.js';
export * from './result-fixtures.js';
export * from './runner-contract.js';
export * from './state-store-contract.js';
export * from './store-crash-suite.js';
