import { existsSync, statSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import { ConfigError, type ExperimentConfig } from '@llem/core';
import { CONTAINER_INPUTS_DIR } from '../package-info.js';

export interface ContainerInputs {
  /** The config as the container must see it: host paths replaced by their mount targets. */
  config: ExperimentConfig;
  mounts: Array<{ source: string; target: string }>;
}

/** A model given as a path (not an HF id): absolute, explicitly relative, or an existing directory. */
function localModelPath(model: string, cwd: string): string | null {
  if (model.startsWith('builtin:')) return null;
  const explicit = isAbsolute(model) || model.startsWith('./') || model.startsWith('../');
  const path = resolve(cwd, model);
  if (existsSync(path) && statSync(path).isDirectory()) return path;
  if (explicit) {
    throw new ConfigError(`model: ${model} is a path, but ${path} is not a directory.`, {
      fix: 'Give an existing model directory, or a Hugging Face id such as gpt2.',
    });
  }
  return null;
}

/**
 * Host paths in the config mean nothing inside a container: a JSONL dataset and a local model
 * directory are mounted read-only under CONTAINER_INPUTS_DIR and the config passed to the harness
 * points there. The config hash is untouched (it is computed on the host config). A missing source
 * is refused here: `docker -v` would silently create it as an empty root-owned directory.
 */
export function mapContainerInputs(config: ExperimentConfig, cwd = process.cwd()): ContainerInputs {
  const mounts: ContainerInputs['mounts'] = [];
  let mapped: ExperimentConfig = config;
  if (config.dataset.source === 'jsonl') {
    const source = resolve(cwd, config.dataset.path);
    if (!existsSync(source) || !statSync(source).isFile()) {
      throw new ConfigError(`dataset: ${config.dataset.path} does not exist (looked at ${source}).`, {
        fix: 'Give an existing .jsonl file, one {"prompt": "..."} object per line.',
      });
    }
    const target = `${CONTAINER_INPUTS_DIR}/dataset/${basename(source)}`;
    mounts.push({ source, target });
    mapped = { ...mapped, dataset: { ...config.dataset, path: target } };
  }
  const model = localModelPath(config.model, cwd);
  if (model) {
    const target = `${CONTAINER_INPUTS_DIR}/model`;
    mounts.push({ source: model, target });
    mapped = { ...mapped, model: target };
  }
  return { config: mapped, mounts };
}
