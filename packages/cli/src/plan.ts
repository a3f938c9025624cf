import { dirname, resolve } from 'node:path';
import {
  applyOverrides,
  type BackendCatalog,
  type ConfigOverride,
  DEFAULT_BACKEND,
  deepMerge,
  isMapping,
  type LoadedConfigFile,
  loadConfigFile,
  type PluginRegistry,
  type RawConfig,
  type StudyPlan,
} from '@llem/core';
import { backendNamesOf, expandStudy } from '@llem/core/orchestration';
import { loadBackendCatalog } from './compose.js';

/**
 * From a file on disk to a validated plan: load (YAML/JSON) → user-config defaults underneath →
 * command-line overrides on top → backends loaded by name → expanded and validated.
 */

export interface LoadedPlan {
  file: LoadedConfigFile;
  /** The raw document after defaults and overrides (what was validated). */
  raw: RawConfig;
  plan: StudyPlan;
  backends: BackendCatalog;
}

export interface LoadPlanOptions {
  registry: PluginRegistry;
  /** Experiment defaults from the user config (energy, baseline): the file wins over them. */
  experimentDefaults?: RawConfig;
  /** Command-line overrides, computed from the loaded document (batch_size needs its backend). */
  overridesFor?: (raw: RawConfig) => readonly ConfigOverride[];
  /** Study settings from flags (cycles, order), applied over the file. */
  studyOverrides?: RawConfig;
  /** Most experiment-cycles the study may expand to (the max_runs setting); default core's. */
  maxRuns?: number;
}

/** How a CLI user raises the cap on a study's size, for the error's fix line. */
export const RAISE_MAX_RUNS = '--max-runs N, LLEM_MAX_RUNS=N or defaults.max_runs in the user config';

export async function loadPlan(path: string, options: LoadPlanOptions): Promise<LoadedPlan> {
  const file = loadConfigFile(path);
  // `plugins:` in the file names modules that provide its backends (relative to the file).
  if (Array.isArray(file.raw.plugins))
    options.registry.addModules(
      file.raw.plugins.filter((spec): spec is string => typeof spec === 'string'),
      dirname(resolve(path)),
    );
  const defaults = options.experimentDefaults ?? {};
  const hasDefaults = Object.keys(defaults).length > 0;
  let raw: RawConfig = file.raw;
  let readBaseFile: ((base: string) => RawConfig) | undefined;
  if (hasDefaults && file.kind === 'study' && typeof raw.base === 'string') {
    // Defaults go under the base file, so the base file's own values still win.
    readBaseFile = (base) => deepMerge(defaults, loadConfigFile(base).raw);
  } else if (hasDefaults) {
    raw = deepMerge(defaults, raw);
  }
  raw = applyOverrides(raw, file.kind, options.overridesFor?.(raw) ?? []);
  if (file.kind === 'study' && options.studyOverrides) raw = { ...raw, ...options.studyOverrides };

  const source = path;
  const expandOptions = { source, readBaseFile, maxRuns: options.maxRuns, raiseMaxRuns: RAISE_MAX_RUNS };
  const backends = await loadBackendCatalog(options.registry, backendNamesOf(raw, expandOptions), source);
  const plan = expandStudy(raw, { ...expandOptions, backends });
  return { file, raw, plan, backends };
}

/** The `llem run` flags that override the config. */
export interface OverrideFlags {
  model?: string;
  backend?: string;
  dataset?: string;
  n?: number;
  batchSize?: number;
  precision?: string;
  set?: readonly string[];
}

/** The overrides `llem run` flags ask for, in flag order. */
export function overridesFromFlags(
  flags: OverrideFlags,
  parseSet: (text: string) => ConfigOverride,
  raw?: RawConfig,
): ConfigOverride[] {
  const out: ConfigOverride[] = [];
  if (flags.model !== undefined) out.push({ path: ['model'], value: flags.model });
  if (flags.backend !== undefined) out.push({ path: ['backend'], value: flags.backend });
  if (flags.dataset !== undefined) out.push({ path: ['dataset'], value: flags.dataset });
  if (flags.n !== undefined) out.push({ path: ['n'], value: flags.n });
  if (flags.precision !== undefined) out.push({ path: ['precision'], value: flags.precision });
  if (flags.batchSize !== undefined) {
    // batch_size lives in the backend's own section.
    const backend =
      flags.backend ?? (isMapping(raw) && typeof raw.backend === 'string' ? raw.backend : DEFAULT_BACKEND);
    out.push({ path: [backend, 'batch_size'], value: flags.batchSize });
  }
  for (const text of flags.set ?? []) out.push(parseSet(text));
  return out;
}
