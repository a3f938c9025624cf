import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Paths are resolved from this file, so they work from src/ (dev-source) and dist/ alike. */
const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export const PACKAGE_VERSION: string = packageJson.version;

/** The Python harness (`python -m llem_harness`), shipped inside this package. */
export const HARNESS_DIR: string = fileURLToPath(new URL('../harness', import.meta.url));

/** The Dockerfile that builds the harness image; its build context is the package root. */
export const DOCKERFILE_PATH: string = fileURLToPath(new URL('../docker/Dockerfile', import.meta.url));
export const DOCKER_CONTEXT_DIR: string = fileURLToPath(new URL('..', import.meta.url));

/** One image per package version, so an upgrade never runs a stale harness. */
export const DEFAULT_IMAGE = `llem/backend-pytorch:${PACKAGE_VERSION}`;

/** Where the harness sees the run's directory inside the container. */
export const CONTAINER_EXCHANGE_DIR = '/llem/exchange';
/** Where the persistent Hugging Face cache is mounted inside the container. */
export const CONTAINER_HF_CACHE_DIR = '/llem/hf-cache';

/** Read-only mounts of host inputs: a JSONL dataset file, a local model directory. */
export const CONTAINER_INPUTS_DIR = '/llem/inputs';

/** File names inside the run directory (the harness contract). */
export const CONFIG_FILE = 'harness-config.json';
export const RESULT_FILE = 'workload-result.json';
export const ERROR_FILE = 'error.json';
