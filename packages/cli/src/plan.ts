import { dirname, isAbsolute, resolve } from 'node:path';
import {
  applyOverrides,
  type BackendCatalog,
  ConfigError,
  type ConfigOverride,
  DEFAULT_BACKEND,
  deepMerge,
  isConfigError,
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
  const overrides = options.overridesFor?.(raw) ?? [];
  raw = applyOverrides(raw, file.kind, overrides);
  if (file.kind === 'study' && options.studyOverrides) raw = { ...raw, ...options.studyOverrides };

  const source = path;
  const expandOptions = { source, readBaseFile, maxRuns: options.maxRuns, raiseMaxRuns: RAISE_MAX_RUNS };
  try {
    const backends = await loadBackendCatalog(options.registry, backendNamesOf(raw, expandOptions), source);
    const plan = expandStudy(raw, { ...expandOptions, backends });
    return { file, raw, plan, backends };
  } catch (error) {
    throw blameFlags(error, overrides, source);
  }
}

/**
 * A problem with a field a flag set (`--set decoder.temprature=0.5`, `--model`) is the flag's, not
 * the file's: its line names the flag. Other problems keep their file.
 */
export function blameFlags(error: unknown, overrides: readonly ConfigOverride[], source?: string): unknown {
  const flagged = overrides.filter((o) => o.flag);
  if (!isConfigError(error) || flagged.length === 0) return error;
  const lines = error.message.split('\n');
  // The error's own problem list, else its `<file>: <field>: <message>` lines.
  const listed =
    error.problems ??
    lines.map((line) => {
      const rest = source && line.startsWith(`${source}: `) ? line.slice(source.length + 2) : null;
      const match = rest === null ? null : /^([^\s:]+): (.*)$/.exec(rest);
      return match
        ? { file: source ?? null, path: match[1] ?? null, message: match[2] ?? '' }
        : { file: null, path: null, message: line };
    });
  const problems = listed.map((problem, index) => {
    const path = problem.path ?? '';
    const override = [...flagged].reverse().find((o) => {
      const dotted = o.path.join('.');
      // `decoder.temprature`, or inside a study: `experiments[1].decoder.temprature`.
      return (
        path === dotted ||
        path.endsWith(`.${dotted}`) ||
        path.startsWith(`${dotted}.`) ||
        path.startsWith(`${dotted}[`)
      );
    });
    if (!override?.flag) return problem;
    if (index < lines.length) lines[index] = `${override.flag}: ${problem.message}`;
    return { file: null, path: override.path.join('.'), message: problem.message };
  });
  if (problems.every((p, i) => p === listed[i])) return error;
  const onlyFlags = problems.every((p) => p.file === null);
  return new ConfigError(lines.join('\n'), {
    fix: onlyFlags
      ? 'Fix the flag(s) named above (`--set` takes a dotted field path and a YAML value); `llem config schema` prints every field with its type and default.'
      : error.fix,
    problems,
  });
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

/**
 * A dataset file given on the command line is relative to the current directory (one written in
 * a config file is relative to that file's folder): the flag's value is made absolute here.
 */
function fromCwd(path: readonly string[], value: unknown): unknown {
  const dotted = path.join('.');
  const isFile = (v: unknown): v is string => typeof v === 'string' && v.endsWith('.jsonl') && !isAbsolute(v);
  if (dotted === 'dataset.path' && typeof value === 'string' && !isAbsolute(value)) return resolve(value);
  if (dotted === 'dataset' && isFile(value)) return resolve(value);
  if (dotted === 'dataset' && isMapping(value) && typeof value.path === 'string' && !isAbsolute(value.path))
    return { ...value, path: resolve(value.path) };
  return value;
}

/** The overrides `llem run` flags ask for, in flag order. */
export function overridesFromFlags(
  flags: OverrideFlags,
  parseSet: (text: string) => ConfigOverride,
  raw?: RawConfig,
): ConfigOverride[] {
  const out: ConfigOverride[] = [];
  if (flags.model !== undefined) out.push({ path: ['model'], value: flags.model, flag: '--model' });
  if (flags.backend !== undefined) out.push({ path: ['backend'], value: flags.backend, flag: '--backend' });
  if (flags.dataset !== undefined)
    out.push({ path: ['dataset'], value: fromCwd(['dataset'], flags.dataset), flag: '--dataset' });
  if (flags.n !== undefined) out.push({ path: ['n'], value: flags.n, flag: '--n' });
  if (flags.precision !== undefined)
    out.push({ path: ['precision'], value: flags.precision, flag: '--precision' });
  if (flags.batchSize !== undefined) {
    // batch_size lives in the backend's own section.
    const backend =
      flags.backend ?? (isMapping(raw) && typeof raw.backend === 'string' ? raw.backend : DEFAULT_BACKEND);
    out.push({ path: [backend, 'batch_size'], value: flags.batchSize, flag: '--batch-size' });
  }
  for (const text of flags.set ?? []) {
    const override = parseSet(text);
    out.push({
      path: override.path,
      value: fromCwd(override.path, override.value),
      flag: `--set ${override.path.join('.')}`,
    });
  }
  return out;
}
