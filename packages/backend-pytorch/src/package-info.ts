import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Set by a bundler that copies this package's assets (harness/, docker/) next to its output, as
 * the llem CLI's build does: their folder relative to the bundled file, and this package's version.
 * Both undefined when this file runs from src/ (dev-source) or dist/.
 */
declare const __LLEM_BACKEND_PYTORCH_ASSETS__: string | undefined;
declare const __LLEM_BACKEND_PYTORCH_VERSION__: string | undefined;

/** The package root (or the bundle's copy of its assets): the same relative path from src/ and dist/. */
const root = new URL(
  typeof __LLEM_BACKEND_PYTORCH_ASSETS__ === 'string' ? __LLEM_BACKEND_PYTORCH_ASSETS__ : '../',
  import.meta.url,
);

export const PACKAGE_VERSION: string =
  typeof __LLEM_BACKEND_PYTORCH_VERSION__ === 'string'
    ? __LLEM_BACKEND_PYTORCH_VERSION__
    : (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string }).version;

/** The Python harness (`python -m llem_harness`), shipped inside this package. */
export const HARNESS_DIR: string = fileURLToPath(new URL('harness', root));

/** The Dockerfile that builds the harness image; its build context is the package root. */
export const DOCKERFILE_PATH: string = fileURLToPath(new URL('docker/Dockerfile', root));
export const DOCKER_CONTEXT_DIR: string = fileURLToPath(root);

/** One image per package version, so an upgrade never runs a stale harness. */
export const DEFAULT_IMAGE = `llem/backend-pytorch:${PACKAGE_VERSION}`;

/** Where the harness sees the run's directory inside the container. */
export const CONTAINER_EXCHANGE_DIR = '/llem/exchange';
/** Where the persistent Hugging Face cache is mounted inside the container. */
export const CONTAINER_HF_CACHE_DIR = '/llem/hf-cache';

/** The secrets env file (HF_TOKEN), mounted read-only; the harness's python loads it. */
export const CONTAINER_SECRETS_FILE = '/run/llem/secrets.env';

/** Read-only mounts of host inputs: a JSONL dataset file, a local model directory. */
export const CONTAINER_INPUTS_DIR = '/llem/inputs';

/** File names inside the run directory (the harness contract). */
export const CONFIG_FILE = 'harness-config.json';
export const RESULT_FILE = 'workload-result.json';
export const ERROR_FILE = 'error.json';
