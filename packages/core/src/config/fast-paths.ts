/**
 * Switches for the equivalence tests, never turned off in use: each fast path must give exactly
 * what the full path gives, and the tests run both on random inputs to show it.
 * - resolver: study expansion validates through ConfigResolver and hashes through ConfigHasher
 *   (off: checkExperimentFields and computeConfigHash for every point).
 * - numberLists: long one-line YAML lists of plain numbers are read by liftNumberLists.
 * Internal module: not exported from the package.
 */
export const fastPaths = { resolver: true, numberLists: true };
