import { definePlugin } from '@llem/core';
import { createVllmBackend } from './plugin.js';

export { DTYPE_OF_PRECISION, type VllmConfig, VllmConfigSchema } from './config.js';
export {
  createVllmBackend,
  PACKAGE_VERSION,
  vllmDoctor,
  vllmServeArgv,
  vllmServerCommand,
} from './plugin.js';

/** Found by name: `backend: vllm`. */
export default definePlugin({ kind: 'backend', name: 'vllm', create: () => createVllmBackend() });
