/**
 * Library entry of @llem/cli: the CLI's composition (its built-in plugins and settings around
 * createLlem) and the command tree, for embedding llem's command line in scripts. To measure from
 * code, use `createLlem` from `@llem/core/orchestration` (or `composeLlem` here with CLI settings).
 */
export { cliBuiltins, composeLlem, createRegistry, loadBackendCatalog, openStore } from './compose.js';
export { buildProgram, cliVersion, main } from './main.js';
export { type LoadedPlan, loadPlan } from './plan.js';
export { resolveSettings, type Settings, UserConfigSchema } from './settings.js';
