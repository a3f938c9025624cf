import { servingSectionOf } from '@llem/backend-openai';
import type { ExperimentConfig } from '@llem/core';
import { type VllmConfig, vllmServerCommand } from '../src/index.js';

export { createVllmBackend, vllmServeArgv } from '../src/index.js';

/** The serving backend's section the vllm backend runs for this experiment. */
export function servingSection(config: ExperimentConfig) {
  return servingSectionOf({ serverCommand: vllmServerCommand }, config, config.vllm as VllmConfig, 'local');
}
