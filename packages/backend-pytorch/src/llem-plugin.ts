import { definePlugin } from '@llem/core';
import { dockerLaunchSettings } from './docker/launch-settings.js';
import { createPytorchBackend } from './plugin.js';
import { provisionedPythonPath } from './venv-path.js';

/**
 * `backend: pytorch`. Plugin options: `python` (LLEM_PYTHON, defaults.python; else the harness
 * venv, made on first use) and `dryRun` (name the venv's python without provisioning it).
 * LLEM_DOCKER_RUN_ARGS and LLEM_DOCKER_GPUS are read here, when the plugin loads, so a bad value
 * stops the command before any run starts (a ConfigError: exit 2).
 */
export default definePlugin({
  kind: 'backend',
  name: 'pytorch',
  create: (options) => {
    const docker = dockerLaunchSettings(process.env);
    return createPytorchBackend({
      python: options?.python ?? (options?.dryRun ? provisionedPythonPath() : undefined),
      // null: the python is the harness venv's (named by a dry run, made by a run).
      pythonSetting: options?.python
        ? (options.pythonSetting ?? 'the python option')
        : process.env.LLEM_PYTHON
          ? 'LLEM_PYTHON'
          : null,
      extraDockerRunArgs: docker.runArgs,
      dockerGpus: docker.gpus,
    });
  },
});
