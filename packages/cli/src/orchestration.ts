/**
 * What the CLI takes from core's orchestration door to run things: imported lazily (compose.ts),
 * through this module rather than `import('@llem/core/orchestration')`, so a bundler loads only
 * these and what they use when a command runs something, and `llem config validate` loads neither
 * the orchestrator nor the DI container.
 */
export { builtinPlugins, createLlem } from '@llem/core/orchestration';
