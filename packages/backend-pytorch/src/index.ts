export { collectWorkloadResult, HarnessFailedError } from './collect.js';
export {
  type PytorchConfig,
  PytorchConfigSchema,
  pytorchSection,
  validatePytorchExperiment,
} from './config-schema.js';
export { type BuildImageOptions, buildHarnessImage } from './docker/build-image.js';
export { classifyDockerFailure, type DockerFailure, imageBuildCommand } from './docker/classify-failure.js';
export { type ContainerInputs, mapContainerInputs } from './docker/container-inputs.js';
export { type DockerLaunchSettings, dockerLaunchSettings } from './docker/launch-settings.js';
export {
  buildDockerRunArgv,
  containerName,
  type DockerRunArgvInput,
  dockerStopCommands,
  type HfCacheMount,
} from './docker/run-argv.js';
export { default } from './llem-plugin.js';
export {
  CONFIG_FILE,
  CONTAINER_EXCHANGE_DIR,
  CONTAINER_HF_CACHE_DIR,
  CONTAINER_INPUTS_DIR,
  CONTAINER_SECRETS_FILE,
  DEFAULT_IMAGE,
  DOCKER_CONTEXT_DIR,
  DOCKERFILE_PATH,
  ERROR_FILE,
  HARNESS_DIR,
  PACKAGE_VERSION,
  RESULT_FILE,
} from './package-info.js';
export { createPytorchBackend, type PytorchBackendOptions, pytorchBackend } from './plugin.js';
export { type EnsurePythonOptions, ensureHarnessPython } from './python.js';
export { provisionedPythonPath } from './venv-path.js';
