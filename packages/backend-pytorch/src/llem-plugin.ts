import { definePlugin } from '@llem/core';
import { createPytorchBackend } from './plugin.js';
import { provisionedPythonPath } from './venv-path.js';

/**
 * `backend: pytorch`. Plugin options: `python` (LLEM_PYTHON, defaults.python; else the harness
 * venv, made on first use) and `dryRun` (name the venv's python without provisioning it).
 */
export default definePlugin({
  kind: 'backend',
  name: 'pytorch',
  create: (options) =>
    createPytorchBackend({
      python: options?.python ?? (options?.dryRun ? provisionedPythonPath() : undefined),
    }),
});
