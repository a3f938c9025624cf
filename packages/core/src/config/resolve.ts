import type { z } from 'zod';
import { computeConfigHash } from '../hash/config-hash.js';
import type { BackendCatalog } from '../plugins/backend.js';
import { type ExperimentConfig, ExperimentConfigBaseSchema } from './experiment.js';
import { type ConfigIssue, type ConfigPath, configErrorFrom, describeZodIssues } from './issues.js';
import { didYouMean } from './suggest.js';

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

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Validation problems of a raw config, empty when it is valid. */
export function checkExperimentConfig(
  raw: unknown,
  options: ResolveOptions = {},
): { issues: ConfigIssue[]; config?: ExperimentConfig } {
  const prefix = options.pathPrefix ?? [];
  if (!isMapping(raw))
    return { issues: [{ path: prefix, message: 'an experiment must be a mapping of fields' }] };
  const backendName = typeof raw.backend === 'string' ? raw.backend : 'pytorch';
  const known = options.backends?.names() ?? [];
  const { [backendName]: rawSection, ...rest } = raw;
  const issues: ConfigIssue[] = [];

  for (const key of Object.keys(rest)) {
    if (known.includes(key)) {
      issues.push({
        path: [...prefix, key],
        message: `a '${key}:' section was given but backend is '${backendName}'; remove the section or set backend: ${key}`,
      });
      delete rest[key];
    }
  }

  const parsed = ExperimentConfigBaseSchema.safeParse(rest, { reportInput: true });
  if (!parsed.success) issues.push(...describeZodIssues(parsed.error, ExperimentConfigBaseSchema, prefix));

  let section: unknown = rawSection ?? {};
  const plugin = options.backends?.get(backendName);
  if (options.backends && !plugin) {
    const hint = didYouMean(backendName, known);
    issues.push({
      path: [...prefix, 'backend'],
      message: `unknown backend '${backendName}'${hint ? ` (did you mean '${hint}'?)` : ''}; installed: ${known.join(', ') || 'none'}`,
    });
  } else if (plugin) {
    const sectionResult = (plugin.configSchema as z.ZodType).safeParse(section, { reportInput: true });
    if (sectionResult.success) section = sectionResult.data;
    else
      issues.push(
        ...describeZodIssues(sectionResult.error, plugin.configSchema as z.ZodType, [...prefix, backendName]),
      );
  }
  if (issues.length > 0 || !parsed.success) return { issues };

  const base = parsed.data;
  delete base.decoder.preset;
  const config: ExperimentConfig = { ...base, [backendName]: section };
  if (plugin?.supportedPrecisions && !plugin.supportedPrecisions.includes(base.precision)) {
    issues.push({
      path: [...prefix, 'precision'],
      message: `backend '${backendName}' does not support ${base.precision}; use one of ${plugin.supportedPrecisions.join(', ')}`,
    });
  }
  for (const problem of plugin?.validate?.(config) ?? [])
    issues.push({ path: [...prefix, backendName], message: problem });
  return issues.length > 0 ? { issues } : { issues, config };
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
