import { computeConfigHash } from '../hash/config-hash.js';
import type { BackendCatalog } from '../plugins/backend.js';
import { assertConfigBounds } from './bounds.js';
import type { ExperimentConfig } from './experiment.js';
import { type ConfigIssue, type ConfigPath, configErrorFrom } from './issues.js';
import { upgradeLegacyKeys } from './legacy.js';
import { isMapping } from './load.js';
import { checkExperimentFields } from './resolver.js';

export interface ResolveOptions {
  /** Validates the backend section and the backend name. Without it the section is kept as given. */
  backends?: BackendCatalog;
  /** File the config came from, for messages. */
  source?: string;
  /** Where the config sits inside a bigger file (a study's `experiments[3]`). */
  pathPrefix?: ConfigPath;
}

export interface ResolvedExperiment {
  config: ExperimentConfig;
  configHash: string;
}

/**
 * Validation problems of a raw config, empty when it is valid. A value that is no config at all
 * (nested deeper than MAX_CONFIG_DEPTH, cyclic, binary) throws a ConfigError naming the path.
 */
export function checkExperimentConfig(
  raw: unknown,
  options: ResolveOptions = {},
): { issues: ConfigIssue[]; config?: ExperimentConfig } {
  assertConfigBounds(raw, options.source ?? 'config', options.pathPrefix ?? []);
  return checkExperimentFields(isMapping(raw) ? upgradeLegacyKeys(raw, options.source).raw : raw, options);
}

/**
 * Validates a raw experiment config (parsed YAML), applies defaults and computes its hash.
 * Throws one ConfigError listing every problem, each with its field path.
 */
export function resolveExperimentConfig(raw: unknown, options: ResolveOptions = {}): ResolvedExperiment {
  const { issues, config } = checkExperimentConfig(raw, options);
  if (!config) throw configErrorFrom(issues, options.source);
  return { config, configHash: computeConfigHash(config) };
}
