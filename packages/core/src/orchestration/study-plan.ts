import { basename, dirname, extname, resolve } from 'node:path';
import type { z } from 'zod';
import { EXPERIMENT_BASE_KEYS, type ExperimentConfig } from '../config/experiment.js';
import {
  type ConfigIssue,
  configErrorFrom,
  describeZodIssues,
  formatPath,
  knownKeysAt,
} from '../config/issues.js';
import {
  deepMerge,
  detectConfigKind,
  isMapping,
  loadConfigFile,
  type RawConfig,
  setAtPath,
} from '../config/load.js';
import { checkExperimentConfig, resolveExperimentConfig } from '../config/resolve.js';
import { type CycleOrder, type GapsConfig, STUDY_KEYS, StudySettingsSchema } from '../config/study.js';
import { didYouMean } from '../config/suggest.js';
import { ConfigError } from '../errors.js';
import { computeConfigHash, sha256Hex } from '../hash/config-hash.js';
import { canonicalize } from '../hash/jcs.js';
import type { BackendCatalog } from '../plugins/backend.js';
import { experimentRunId, resultDirName, studyIdFor, studyRunId } from './naming.js';
import { SeededRandom } from './prng.js';

/**
 * Study expansion: a study file (study settings + inline base experiment fields + optional
 * `base:` file) becomes a StudyPlan, the ordered list of runs (experiment x cycle).
 *
 * Grid rules (the original's quirks fixed, see spec §3.6 and §15 item 9):
 * - A sweep key is a dotted path to a field at any depth (`n`, `decoder.temperature`,
 *   `pytorch.batch_size`, `pytorch.a.b`). Its values are a list (a scalar is a one-value list).
 * - The product is taken over the sweep keys in file order, the LAST key varying fastest, except
 *   that a swept `backend` is always the outermost loop.
 * - A key whose first segment names a backend (`vllm.max_num_seqs`) applies only to experiments of
 *   that backend; a key that applies to no experiment at all is an error, never silently dropped.
 * - `experiments:` entries are deep-merged onto the base (mappings merge, other values replace)
 *   and come after the sweep. Without `sweep:` and `experiments:` the base alone is the study.
 * - Every expanded config is validated; all problems are reported at once, each pointing at the
 *   sweep key (`sweep['pytorch.batch_size']`), the entry (`experiments[2].n`) or the base field.
 * - Configs with the same hash are measured once: the first is kept, the others are reported.
 */

export interface ExpandOptions {
  /** The file the document came from: names it in messages; `base:` is relative to it. */
  source?: string;
  /** Validates backend names and sections. Without it backend sections are not checked. */
  backends?: BackendCatalog;
  /** Reads the `base:` file (absolute path) into a raw mapping. Default: loadConfigFile. */
  readBaseFile?: (path: string) => RawConfig;
}

export interface PlannedExperiment {
  /** Position among the unique experiments, in expansion order. */
  index: number;
  /** Where it came from: `base`, `sweep[3]`, `experiments[1]`. */
  origin: string;
  /** The sweep values that made it (dotted key -> value); empty for explicit entries. */
  assignments: Record<string, unknown>;
  label: string;
  config: ExperimentConfig;
  configHash: string;
}

export interface PlannedRun {
  /** 0-based position in execution order. */
  position: number;
  experimentId: string;
  experimentIndex: number;
  configHash: string;
  /** 1-based in a study; null for a lone experiment. */
  cycle: number | null;
  /** Result directory name under the study directory (or the results directory). */
  resultDirName: string;
}

export interface StudyDuplicate {
  origin: string;
  duplicateOf: string;
  configHash: string;
}

export interface StudyPlan {
  kind: 'study' | 'experiment';
  source: string | null;
  /** null for a lone experiment. */
  studyId: string | null;
  name: string | null;
  /** SHA-256 (16 hex) of the sorted unique config hashes: the study's identity, not its order. */
  designHash: string | null;
  cycles: number;
  order: CycleOrder;
  /** The seed actually used for `shuffled` (given, or derived from the design hash); else null. */
  shuffleSeed: number | null;
  gaps: GapsConfig;
  experiments: PlannedExperiment[];
  runs: PlannedRun[];
  duplicates: StudyDuplicate[];
}

const NO_GAPS: GapsConfig = { experiment_seconds: 0, cycle_seconds: 0, cooldown: null };
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/** Plans a parsed study or experiment document. A document without study-only keys is one run. */
export function expandStudy(raw: unknown, options: ExpandOptions = {}): StudyPlan {
  if (!isMapping(raw)) {
    throw new ConfigError(`${options.source ?? 'config'}: the top level must be a mapping of fields.`);
  }
  return detectConfigKind(raw) === 'study' ? expandStudyDocument(raw, options) : planExperiment(raw, options);
}

/** A lone experiment: one run, no study, no cycle. */
export function planExperiment(raw: unknown, options: ExpandOptions = {}): StudyPlan {
  const input = isMapping(raw) ? { ...raw } : raw;
  if (isMapping(input)) delete input.version;
  const { config, configHash } = resolveExperimentConfig(input, {
    backends: options.backends,
    source: options.source,
  });
  const experiment: PlannedExperiment = {
    index: 0,
    origin: 'base',
    assignments: {},
    label: describeConfig(config),
    config,
    configHash,
  };
  return {
    kind: 'experiment',
    source: options.source ?? null,
    studyId: null,
    name: null,
    designHash: null,
    cycles: 1,
    order: 'sequential',
    shuffleSeed: null,
    gaps: NO_GAPS,
    experiments: [experiment],
    runs: [
      {
        position: 0,
        experimentId: experimentRunId(config, configHash),
        experimentIndex: 0,
        configHash,
        cycle: null,
        resultDirName: resultDirName(config, configHash, null),
      },
    ],
    duplicates: [],
  };
}

interface Candidate {
  origin: string;
  assignments: Record<string, unknown>;
  raw: RawConfig;
  /** Attributes a validation issue to the place the user wrote it. */
  attribute: (issue: ConfigIssue) => string;
}

function expandStudyDocument(raw: RawConfig, options: ExpandOptions): StudyPlan {
  const source = options.source;
  const studyPart: RawConfig = {};
  const inline: RawConfig = {};
  for (const [key, value] of Object.entries(raw)) {
    if ((STUDY_KEYS as readonly string[]).includes(key)) studyPart[key] = value;
    else inline[key] = value;
  }
  const settingsResult = StudySettingsSchema.safeParse(studyPart);
  if (!settingsResult.success)
    throw configErrorFrom(describeZodIssues(settingsResult.error, StudySettingsSchema), source);
  const settings = settingsResult.data;

  const baseFile = settings.base === undefined ? {} : readBase(settings.base, options);
  const fixed = deepMerge(baseFile, inline);

  const candidates: Candidate[] = [];
  const baseAttribution = (issue: ConfigIssue) => formatPath(issue.path);
  if (settings.sweep) candidates.push(...expandSweep(fixed, settings.sweep, options.backends, source));
  settings.experiments?.forEach((entry, i) => {
    candidates.push({
      origin: `experiments[${i}]`,
      assignments: {},
      raw: deepMerge(fixed, entry),
      attribute: (issue) =>
        pathStartsIn(entry, issue.path)
          ? formatPath([`experiments`, i, ...issue.path])
          : baseAttribution(issue),
    });
  });
  if (!settings.sweep && !settings.experiments)
    candidates.push({ origin: 'base', assignments: {}, raw: fixed, attribute: baseAttribution });

  const lines = new Set<string>();
  const valid: { candidate: Candidate; config: ExperimentConfig; configHash: string }[] = [];
  for (const candidate of candidates) {
    const { issues, config } = checkExperimentConfig(candidate.raw, { backends: options.backends });
    if (!config) {
      for (const issue of issues) lines.add(`${candidate.attribute(issue)}: ${issue.message}`);
      continue;
    }
    valid.push({ candidate, config, configHash: computeConfigHash(config) });
  }
  if (lines.size > 0) {
    const where = source ? `${source}: ` : '';
    throw new ConfigError([...lines].map((line) => `${where}${line}`).join('\n'), {
      fix: 'Fix the field(s) named above; sweep keys are dotted field paths such as pytorch.batch_size or decoder.temperature.',
    });
  }

  const experiments: PlannedExperiment[] = [];
  const duplicates: StudyDuplicate[] = [];
  const byHash = new Map<string, PlannedExperiment>();
  for (const { candidate, config, configHash } of valid) {
    const first = byHash.get(configHash);
    if (first) {
      duplicates.push({ origin: candidate.origin, duplicateOf: first.origin, configHash });
      continue;
    }
    const experiment: PlannedExperiment = {
      index: experiments.length,
      origin: candidate.origin,
      assignments: candidate.assignments,
      label: describeConfig(config, candidate.assignments),
      config,
      configHash,
    };
    byHash.set(configHash, experiment);
    experiments.push(experiment);
  }
  if (experiments.length === 0) {
    throw new ConfigError(`${source ?? 'study'}: the study produced no experiments.`, {
      fix: "Add a 'sweep:' block, an 'experiments:' list, or inline experiment fields such as 'model:'.",
    });
  }

  const designHash = studyDesignHash(experiments.map((e) => e.configHash));
  const name = settings.name ?? (source ? basename(source, extname(source)) : 'study');
  const studyId = studyIdFor(name, designHash);
  const shuffleSeed =
    settings.order === 'shuffled'
      ? (settings.shuffle_seed ?? Number.parseInt(designHash.slice(0, 8), 16))
      : null;
  const runs = orderRuns(experiments.length, settings.cycles, settings.order, shuffleSeed ?? 0).map(
    ([index, cycle], position) => {
      const experiment = experiments[index]!;
      return {
        position,
        experimentId: studyRunId(studyId, experiment.configHash, cycle),
        experimentIndex: index,
        configHash: experiment.configHash,
        cycle,
        resultDirName: resultDirName(experiment.config, experiment.configHash, cycle),
      };
    },
  );

  return {
    kind: 'study',
    source: source ?? null,
    studyId,
    name,
    designHash,
    cycles: settings.cycles,
    order: settings.order,
    shuffleSeed,
    gaps: settings.gaps,
    experiments,
    runs,
    duplicates,
  };
}

/** Identity of a study's design: which configs it measures, whatever their order. */
export function studyDesignHash(configHashes: readonly string[]): string {
  return sha256Hex(canonicalize([...new Set(configHashes)].sort())).slice(0, 16);
}

/**
 * Execution order as `[experimentIndex, cycle]` pairs (cycles 1-based):
 * sequential A1 A2 B1 B2; interleaved A1 B1 A2 B2; shuffled: each cycle its own permutation,
 * drawn in cycle order from one SeededRandom(seed) stream.
 */
export function orderRuns(count: number, cycles: number, order: CycleOrder, seed = 0): [number, number][] {
  const indices = Array.from({ length: count }, (_, i) => i);
  const out: [number, number][] = [];
  if (order === 'sequential') {
    for (const index of indices) for (let cycle = 1; cycle <= cycles; cycle++) out.push([index, cycle]);
    return out;
  }
  const random = order === 'shuffled' ? new SeededRandom(seed) : null;
  for (let cycle = 1; cycle <= cycles; cycle++) {
    for (const index of random ? random.shuffle(indices) : indices) out.push([index, cycle]);
  }
  return out;
}

function readBase(path: string, options: ExpandOptions): RawConfig {
  const absolute = resolve(options.source ? dirname(options.source) : process.cwd(), path);
  let raw: RawConfig;
  try {
    raw = (options.readBaseFile ?? ((file: string) => loadConfigFile(file).raw))(absolute);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError(`${options.source ?? 'study'}: base: ${error.message}`, {
        fix: error.fix,
        cause: error,
      });
    }
    throw error;
  }
  if (!isMapping(raw))
    throw new ConfigError(
      `${options.source ?? 'study'}: base: ${absolute} is not a mapping of experiment fields.`,
    );
  if (detectConfigKind(raw) === 'study') {
    throw new ConfigError(
      `${options.source ?? 'study'}: base: ${absolute} is a study file; base: must name an experiment file.`,
      {
        fix: 'Point base: at an experiment YAML (model, backend, ...) without sweep/experiments/cycles.',
      },
    );
  }
  const { version: _ignored, ...fields } = raw;
  return fields;
}

interface SweepDimension {
  key: string;
  path: string[];
  values: unknown[];
  /** Backend this key is scoped to (`vllm.max_num_seqs` -> vllm), or null for every experiment. */
  scope: string | null;
}

function expandSweep(
  fixed: RawConfig,
  sweep: Record<string, unknown>,
  backends: BackendCatalog | undefined,
  source: string | undefined,
): Candidate[] {
  const keys = Object.keys(sweep);
  const backendValues = Array.isArray(sweep.backend)
    ? sweep.backend
    : sweep.backend === undefined
      ? []
      : [sweep.backend];
  const backendNames = new Set<string>([
    'pytorch',
    ...(backends?.names() ?? []),
    ...(typeof fixed.backend === 'string' ? [fixed.backend] : []),
    ...backendValues.filter((value): value is string => typeof value === 'string'),
  ]);
  const problems: string[] = [];
  const dimensions: SweepDimension[] = [];
  // A swept backend is the outermost loop, so backend-scoped keys below it know their backend.
  for (const key of keys.includes('backend') ? ['backend', ...keys.filter((k) => k !== 'backend')] : keys) {
    const path = key.split('.');
    if (path.some((segment) => segment === '' || FORBIDDEN_SEGMENTS.has(segment))) {
      problems.push(`sweep['${key}']: not a valid dotted field path`);
      continue;
    }
    const value = sweep[key];
    const values = Array.isArray(value) ? value : [value];
    dimensions.push({
      key,
      path,
      values,
      scope: path.length > 1 && backendNames.has(path[0]!) ? path[0]! : null,
    });
  }
  if (problems.length > 0)
    throw new ConfigError(problems.map((line) => (source ? `${source}: ${line}` : line)).join('\n'));

  const used = new Set<string>();
  const out: Candidate[] = [];
  const walk = (depth: number, config: RawConfig, assignments: Record<string, unknown>) => {
    if (depth === dimensions.length) {
      const snapshot = { ...assignments };
      out.push({
        origin: `sweep[${out.length}]`,
        assignments: snapshot,
        raw: config,
        attribute: (issue) => attributeSweepIssue(issue, dimensions, snapshot, config, backends),
      });
      return;
    }
    const dimension = dimensions[depth]!;
    const backend = typeof config.backend === 'string' ? config.backend : 'pytorch';
    if (dimension.scope !== null && dimension.scope !== backend) {
      walk(depth + 1, config, assignments);
      return;
    }
    used.add(dimension.key);
    for (const value of dimension.values)
      walk(depth + 1, setAtPath(config, dimension.path, value), { ...assignments, [dimension.key]: value });
  };
  walk(0, fixed, {});

  const unused = dimensions.filter((dimension) => !used.has(dimension.key));
  if (unused.length > 0) {
    throw new ConfigError(
      unused
        .map(
          (d) =>
            `${source ? `${source}: ` : ''}sweep['${d.key}']: no experiment has backend '${d.scope}', so this key would apply to none`,
        )
        .join('\n'),
      {
        fix: `Set backend: ${unused[0]!.scope} or sweep backend: [..., ${unused[0]!.scope}], or remove the key.`,
      },
    );
  }
  return out;
}

function isPrefix(prefix: readonly (string | number)[], path: readonly (string | number)[]): boolean {
  return prefix.length <= path.length && prefix.every((part, i) => String(part) === String(path[i]));
}

function attributeSweepIssue(
  issue: ConfigIssue,
  dimensions: readonly SweepDimension[],
  assignments: Record<string, unknown>,
  config: RawConfig,
  backends: BackendCatalog | undefined,
): string {
  const dimension = dimensions.find(
    (d) => d.key in assignments && (isPrefix(d.path, issue.path) || isPrefix(issue.path, d.path)),
  );
  if (!dimension) return formatPath(issue.path);
  const rest = issue.path.slice(dimension.path.length);
  const where = `sweep['${dimension.key}']${rest.length > 0 ? `.${formatPath(rest)}` : ''}`;
  let hint = '';
  // `batch_size` swept at the top level but known in the backend's section: say where it belongs.
  if (dimension.path.length === 1 && !EXPERIMENT_BASE_KEYS.includes(dimension.key)) {
    const backend = typeof config.backend === 'string' ? config.backend : 'pytorch';
    const plugin = backends?.get(backend);
    const sectionKeys = plugin ? knownKeysAt(plugin.configSchema as z.ZodType, []) : [];
    const near = sectionKeys.includes(dimension.key) ? dimension.key : didYouMean(dimension.key, sectionKeys);
    if (near) hint = ` (backend fields are addressed as '${backend}.${near}')`;
  }
  // Name the value for value errors (an unknown key is wrong whatever its value).
  const valueError =
    isPrefix(dimension.path, issue.path) && rest.length === 0 && !issue.message.startsWith('unknown field');
  const value = valueError ? ` (value ${JSON.stringify(assignments[dimension.key])})` : '';
  return `${where}${value}${hint}`;
}

/** True when `path` starts at a key the entry itself sets (so the entry, not the base, is at fault). */
function pathStartsIn(entry: RawConfig, path: readonly (string | number)[]): boolean {
  const head = path[0];
  return head !== undefined && Object.hasOwn(entry, String(head));
}

/** Short human label: `gpt2 pytorch bf16 pytorch.batch_size=4`. */
function describeConfig(config: ExperimentConfig, assignments: Record<string, unknown> = {}): string {
  const swept = Object.entries(assignments)
    .filter(([key]) => key !== 'model' && key !== 'backend' && key !== 'precision')
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [config.model, config.backend, config.precision, ...swept].join(' ');
}
