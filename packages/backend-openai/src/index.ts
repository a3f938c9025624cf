import { definePlugin } from '@llem/core';
import { createOpenAIBackend } from './plugin.js';

export { ATTRIBUTION_METHOD, attributeEnergy, intervalEdges } from './attribution.js';
export { type OpenAIConfig, OpenAIConfigSchema, PORT_PLACEHOLDER } from './config.js';
export {
  createEngineBackend,
  type EngineBackendOptions,
  type EngineSectionBase,
  engineSectionSchema,
  engineSectionShape,
  type ServerCommand,
  type ServerCommandContext,
  servingSectionOf,
} from './engine.js';
export { createOpenAIBackend, PACKAGE_VERSION, WORKLOAD_SCRIPT } from './plugin.js';
export { REQUESTS_FILE } from './run-files.js';

/** Found by name: `backend: openai` (a built-in: @llem/core's BUILTIN_PLUGIN_PACKAGES). */
export default definePlugin({ kind: 'backend', name: 'openai', create: () => createOpenAIBackend() });
