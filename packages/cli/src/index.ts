/** Library entry of @llem/cli: the composition root and helpers, for embedding llem in scripts. */

export { type Composition, compose, createRegistry, loadBackendCatalog, openStore } from './compose.js';
export { buildProgram, cliVersion, main } from './main.js';
export { type LoadedPlan, loadPlan } from './plan.js';
export { resolveSettings, type Settings, UserConfigSchema } from './settings.js';
