import { basename, dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import type { z } from 'zod';
import { assertConfigBounds, formatLongPath, MAX_CONFIG_DEPTH } from '../config/bounds.js';
import { DEFAULT_BACKEND, EXPERIMENT_BASE_KEYS, type ExperimentConfig } from '../config/experiment.js';
import { fastPaths } from '../config/fast-paths.js';
import {
  type ConfigIssue,
  configErrorFrom,
  formatPath,
  joinProblems,
  knownKeysAt,
  validateWith,
} from '../config/issues.js';
import { upgradeLegacyKeys } from '../config/legacy.js';
import {
  deepMerge,
  detectConfigKind,
  isMapping,
  loadConfigFile,
  type RawConfig,
  setAtPath,
} from '../config/load.js';
import { resolveExperimentConfig } from '../config/resolve.js';
import { ConfigResolver, checkExperimentFields } from '../config/resolver.js';
import {
  type CycleOrder,
  type GapsConfig,
  STUDY_KEYS,
  type StudySettings,
  StudySettingsSchema,
} from '../config/study.js';
import { didYouMean } from '../config/suggest.js';
import { ConfigError, isConfigError } from '../errors.js';
import { ConfigHasher, computeConfigHash, sha256Hex } from '../hash/config-hash.js';
import { canonicalize } from '../hash/jcs.js';
import type { BackendCatalog } from '../plugins/backend.js';
import { experimentRunId, resultDirName, resultDirPrefix, studyIdFor, studyRunId } from './naming.js';
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
 * - A study expands to at most `maxRuns` experiment-cycles (default DEFAULT_MAX_RUNS), counted
 *   before the grid is built; the input is checked first for depth and cycles (assertConfigBounds).
 *
 * Expansion is linear in the number of points: each point's raw config is one copy of the
 * previous point's along the changed keys, each distinct field value is validated once
 * (ConfigResolver) and each shared sub-object is serialised once for the hash.
 */

/** Experiment-cycles a study may expand to unless `maxRuns` says otherwise. */
export const DEFAULT_MAX_RUNS = 100_000;
/** Keys a sweep may have: far more than any real grid (every key with two values doubles it). */
export const MAX_SWEEP_KEYS = 1000;

export interface ExpandOptions {
  /** The file the document came from: names it in messages; `base:` is relative to it. */
  source?: string;
  /** Validates backend names and sections. Without it backend sections are not checked. */
  backends?: BackendCatalog;
  /** Reads the `base:` file (absolute path) into a raw mapping. Default: loadConfigFile. */
  readBaseFile?: (path: string) => RawConfig;
  /**
   * Most experiment-cycles (experiments x cycles, duplicates included) a study may expand to;
   * checked before the grid is built. Default DEFAULT_MAX_RUNS.
   */
  maxRuns?: number;
  /** How the user raises `maxRuns`, for the error's fix line (the CLI names its flag and setting). */
  raiseMaxRuns?: string;
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
  /** One line per deprecated spelling the document used (e.g. `runner:` for `launch:`), for the user. */
  notices: string[];
}

const NO_GAPS: GapsConfig = { experiment_seconds: 0, cycle_seconds: 0, cooldown: null };
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/** Plans a parsed study or experiment document. A document without study-only keys is one run. */
export function expandStudy(raw: unknown, options: ExpandOptions = {}): StudyPlan {
  if (!isMapping(raw)) {
    throw new ConfigError(`${options.source ?? 'config'}: the top level must be a mapping of fields.`);
  }
  assertConfigBounds(raw, options.source ?? 'config');
  const upgraded = upgradeLegacyKeys(raw, options.source);
  const plan =
    detectConfigKind(upgraded.raw) === 'study'
      ? expandStudyDocument(upgraded.raw, options)
      : planExperiment(upgraded.raw, options);
  plan.notices.push(...upgraded.notices.filter((notice) => !plan.notices.includes(notice)));
  if (options.source) resolveDatasetPaths(plan.experiments, dirname(resolve(options.source)));
  return plan;
}

/**
 * A relative `dataset.path` is relative to the folder of the file it is written in, never to the
 * current directory: each experiment's config gets the absolute path its workload reads. The config
 * hash was computed before, over the path as written, so the same file has the same hash from any
 * directory and after the project folder moves (a base file's relative path is rewritten relative
 * to the study file when it is read, see readBase).
 */
export function resolveDatasetPaths(experiments: PlannedExperiment[], dir: string): void {
  for (const experiment of experiments) {
    const { dataset } = experiment.config;
    if (dataset.source !== 'jsonl' || isAbsolute(dataset.path)) continue;
    experiment.config = { ...experiment.config, dataset: { ...dataset, path: resolve(dir, dataset.path) } };
  }
}

/** A raw `dataset` (shorthand or mapping) whose relative JSONL path is rebased from one folder to another. */
export function rebaseDatasetPath(dataset: unknown, from: string, to: string): unknown {
  const rebase = (path: string) => (isAbsolute(path) ? path : relative(to, resolve(from, path)) || '.');
  if (typeof dataset === 'string')
    return dataset.endsWith('.jsonl') && dataset !== 'aienergyscore' ? rebase(dataset) : dataset;
  if (isMapping(dataset) && dataset.source === 'jsonl' && typeof dataset.path === 'string')
    return { ...dataset, path: rebase(dataset.path) };
  return dataset;
}

/** A lone experiment: one run, no study, no cycle. */
export function planExperiment(raw: unknown, options: ExpandOptions = {}): StudyPlan {
  const upgraded = isMapping(raw) ? upgradeLegacyKeys(raw, options.source) : { raw, notices: [] };
  const input = isMapping(upgraded.raw) ? { ...upgraded.raw } : upgraded.raw;
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
    notices: upgraded.notices,
  };
}

interface Candidate {
  origin: string;
  assignments: Record<string, unknown>;
  raw: RawConfig;
  /** Attributes a validation issue to the place the user wrote it (shared by a sweep's points). */
  attribute: (issue: ConfigIssue, candidate: Candidate) => string;
}

/**
 * The backends a document's experiments use, found by validating it as expandStudy does, without
 * hashing or planning: what a caller needs to know to load the backend plugins before it expands
 * the document with them. Throws what expandStudy (with the same options) would throw.
 */
/**
 * The backends a document's experiments use, to load before expanding it: its `backend:` (or the
 * default), plus any that a `base:` file, a swept `backend` or an `experiments:` entry names. Only
 * those can differ, so only then is the document walked (without backends) to find them; a
 * problem found on the way is left to the real expansion, which reports it with sections checked.
 */
export function backendNamesOf(raw: unknown, options: ExpandOptions = {}): string[] {
  if (!isMapping(raw)) return [DEFAULT_BACKEND];
  const names = new Set<string>([typeof raw.backend === 'string' ? raw.backend : DEFAULT_BACKEND]);
  const mayVary =
    raw.base !== undefined ||
    (isMapping(raw.sweep) && Object.hasOwn(raw.sweep, 'backend')) ||
    (Array.isArray(raw.experiments) &&
      raw.experiments.some((entry) => !isMapping(entry) || 'backend' in entry));
  if (mayVary) {
    try {
      for (const name of studyBackendNames(raw, { ...options, backends: undefined })) names.add(name);
    } catch {
      // The expansion with backends reports it.
    }
  }
  return [...names].filter((name) => /^[a-z][a-z0-9-]*$/.test(name));
}

export function studyBackendNames(raw: unknown, options: ExpandOptions = {}): string[] {
  if (!isMapping(raw)) {
    throw new ConfigError(`${options.source ?? 'config'}: the top level must be a mapping of fields.`);
  }
  assertConfigBounds(raw, options.source ?? 'config');
  if (detectConfigKind(raw) !== 'study') return [planExperiment(raw, options).experiments[0]!.config.backend];
  const names = new Set<string>();
  let count = 0;
  checkStudyDocument(raw, options, (_candidate, config) => {
    count++;
    names.add(config.backend);
  });
  if (count === 0) throw noExperimentsError(options.source);
  return [...names];
}

function noExperimentsError(source: string | undefined): ConfigError {
  return new ConfigError(`${source ?? 'study'}: the study produced no experiments.`, {
    fix: "Add a 'sweep:' block, an 'experiments:' list, or inline experiment fields such as 'model:'.",
  });
}

/**
 * Every candidate of a study document, validated: each valid one goes to `accept` as it is made
 * (nothing per point is kept but what the caller keeps), then one ConfigError for all problems.
 */
function checkStudyDocument(
  raw: RawConfig,
  options: ExpandOptions,
  accept: (candidate: Candidate, config: ExperimentConfig) => void,
  notices: string[] = [],
): StudySettings {
  const source = options.source;
  const studyPart: RawConfig = {};
  const inline: RawConfig = {};
  for (const [key, value] of Object.entries(raw)) {
    if ((STUDY_KEYS as readonly string[]).includes(key)) studyPart[key] = value;
    else inline[key] = value;
  }
  const settingsResult = validateWith(StudySettingsSchema, studyPart);
  if (!settingsResult.ok) throw configErrorFrom(settingsResult.issues, source);
  const settings = settingsResult.data;

  const baseFile = settings.base === undefined ? {} : readBase(settings.base, options, notices);
  const fixed = deepMerge(baseFile, inline);
  const dimensions = settings.sweep ? sweepDimensions(fixed, settings.sweep, options.backends, source) : [];
  assertWithinMaxRuns(fixed, dimensions, settings, options);

  const lines = new Set<string>();
  let failure: { error: unknown } | undefined;
  const resolver = new ConfigResolver(options.backends);
  const fast = fastPaths.resolver;
  const check = (candidate: Candidate) => {
    let config = fast ? resolver.resolve(candidate.raw) : undefined;
    if (!config) {
      const full = checkExperimentFields(candidate.raw, { backends: options.backends });
      if (!full.config) {
        for (const issue of full.issues)
          lines.add(`${candidate.attribute(issue, candidate)}: ${issue.message}`);
        return;
      }
      config = full.config;
    }
    // After a problem only problems are collected; an error of `accept` (hashing a value that
    // has no JSON form) waits until every candidate is validated, as validation comes first.
    if (lines.size > 0 || failure !== undefined) return;
    try {
      accept(candidate, config);
    } catch (error) {
      failure = { error };
    }
  };

  const baseAttribution = (issue: ConfigIssue) => formatPath(issue.path);
  if (settings.sweep) expandSweep(fixed, dimensions, options.backends, source, check);
  settings.experiments?.forEach((entry, i) => {
    check({
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
    check({ origin: 'base', assignments: {}, raw: fixed, attribute: baseAttribution });

  if (lines.size > 0) {
    const where = source ? `${source}: ` : '';
    throw new ConfigError(joinProblems([...lines].map((line) => `${where}${line}`)), {
      fix: 'Fix the field(s) named above; sweep keys are dotted field paths such as pytorch.batch_size or decoder.temperature.',
    });
  }
  if (failure) throw failure.error;
  return settings;
}

function expandStudyDocument(raw: RawConfig, options: ExpandOptions): StudyPlan {
  const source = options.source;
  const experiments: PlannedExperiment[] = [];
  const duplicates: StudyDuplicate[] = [];
  const byHash = new Map<string, PlannedExperiment>();
  const hasher = new ConfigHasher();
  const fast = fastPaths.resolver;
  const notices: string[] = [];
  const settings = checkStudyDocument(
    raw,
    options,
    ({ origin, assignments }, config) => {
      const configHash = fast ? hasher.hash(config) : computeConfigHash(config);
      const first = byHash.get(configHash);
      if (first) {
        duplicates.push({ origin, duplicateOf: first.origin, configHash });
        return;
      }
      const experiment: PlannedExperiment = {
        index: experiments.length,
        origin,
        assignments,
        label: describeConfig(config, assignments),
        config,
        configHash,
      };
      byHash.set(configHash, experiment);
      experiments.push(experiment);
    },
    notices,
  );
  if (experiments.length === 0) throw noExperimentsError(source);

  const designHash = studyDesignHash(experiments.map((e) => e.configHash));
  const name = settings.name ?? (source ? basename(source, extname(source)) : 'study');
  const studyId = studyIdFor(name, designHash);
  const shuffleSeed =
    settings.order === 'shuffled'
      ? (settings.shuffle_seed ?? Number.parseInt(designHash.slice(0, 8), 16))
      : null;
  // resultDirName(config, hash, cycle) is the cycle-less name plus `_c<cycle>`: made once per
  // experiment, from a slug made once per model and backend.
  const slugs = new Map<string, string>();
  const dirNames = experiments.map(({ config, configHash }) => {
    const key = `${config.model}\0${config.backend}`;
    let prefix = slugs.get(key);
    if (prefix === undefined) {
      prefix = resultDirPrefix(config);
      slugs.set(key, prefix);
    }
    return `${prefix}_${configHash.slice(0, 8)}`;
  });
  const order = orderRuns(experiments.length, settings.cycles, settings.order, shuffleSeed ?? 0);
  const runs: PlannedRun[] = new Array(order.length);
  for (let position = 0; position < order.length; position++) {
    const [index, cycle] = order[position]!;
    const { configHash } = experiments[index]!;
    runs[position] = {
      position,
      experimentId: studyRunId(studyId, configHash, cycle),
      experimentIndex: index,
      configHash,
      cycle,
      resultDirName: `${dirNames[index]!}_c${cycle}`,
    };
  }

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
    notices,
  };
}

/**
 * The study's size, experiments (duplicates included) x cycles, against `maxRuns`: counted from
 * the sweep's dimensions, before a single point is built, so a 1000 x 1000 grid fails at once.
 */
function assertWithinMaxRuns(
  fixed: RawConfig,
  dimensions: readonly SweepDimension[],
  settings: StudySettings,
  options: ExpandOptions,
): void {
  const maxRuns = options.maxRuns ?? DEFAULT_MAX_RUNS;
  if (!Number.isSafeInteger(maxRuns) || maxRuns < 1)
    throw new ConfigError(`maxRuns must be a whole number >= 1, got ${String(maxRuns)}.`);
  let experiments = (settings.sweep ? sweepSize(fixed, dimensions) : 0) + (settings.experiments?.length ?? 0);
  if (!settings.sweep && !settings.experiments) experiments = 1;
  const runs = experiments * settings.cycles;
  if (runs <= maxRuns) return;
  const count = (n: number) => (Number.isSafeInteger(n) ? String(n) : n.toExponential(2));
  throw new ConfigError(
    `${options.source ?? 'study'}: the study expands to ${count(runs)} experiment-cycles (${count(experiments)} experiment(s) x ${settings.cycles} cycle(s)), more than the limit of ${maxRuns}.`,
    {
      fix: `Shrink the sweep (fewer keys or values), the experiments or the cycles, or raise the limit (${options.raiseMaxRuns ?? 'the maxRuns option'}).`,
    },
  );
}

/** Points of the sweep grid, as expandSweep makes them (a backend-scoped key counts for its backend). */
function sweepSize(fixed: RawConfig, dimensions: readonly SweepDimension[]): number {
  if (dimensions.length === 0) return 1; // `sweep: {}` is the base alone
  const product = (backend: string, from: number) => {
    let size = 1;
    for (let d = from; d < dimensions.length; d++) {
      const dimension = dimensions[d]!;
      if (dimension.scope === null || dimension.scope === backend) size *= dimension.values.length;
    }
    return size;
  };
  const first = dimensions[0]!;
  if (first.key !== 'backend') return product(backendOf(fixed), 0);
  let size = 0;
  for (const value of first.values) size += product(typeof value === 'string' ? value : 'pytorch', 1);
  return size;
}

function backendOf(config: RawConfig): string {
  return typeof config.backend === 'string' ? config.backend : 'pytorch';
}

/** Identity of a study's design: which configs it measures, whatever their order. */
export function studyDesignHash(configHashes: readonly string[]): string {
  // Read back from JSON text, the hashes are flat strings, which sort several times faster than
  // slices of the digests (100,000 of them: a tenth of a second).
  const unique = JSON.parse(JSON.stringify([...new Set(configHashes)])) as string[];
  return sha256Hex(canonicalize(unique.sort())).slice(0, 16);
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

function readBase(path: string, options: ExpandOptions, notices: string[]): RawConfig {
  const absolute = resolve(options.source ? dirname(options.source) : process.cwd(), path);
  let raw: RawConfig;
  try {
    raw = (options.readBaseFile ?? ((file: string) => loadConfigFile(file).raw))(absolute);
  } catch (error) {
    if (isConfigError(error)) {
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
  assertConfigBounds(raw, `${options.source ?? 'study'}: base: ${absolute}`);
  if (detectConfigKind(raw) === 'study') {
    throw new ConfigError(
      `${options.source ?? 'study'}: base: ${absolute} is a study file; base: must name an experiment file.`,
      {
        fix: 'Point base: at an experiment YAML (model, backend, ...) without sweep/experiments/cycles.',
      },
    );
  }
  const upgraded = upgradeLegacyKeys(raw, absolute);
  notices.push(...upgraded.notices);
  const { version: _ignored, ...fields } = upgraded.raw;
  // Its relative dataset path is relative to the base file: from the study file's folder it is this.
  if (fields.dataset !== undefined)
    fields.dataset = rebaseDatasetPath(
      fields.dataset,
      dirname(absolute),
      options.source ? dirname(resolve(options.source)) : process.cwd(),
    );
  return fields;
}

interface SweepDimension {
  key: string;
  path: string[];
  values: unknown[];
  /** Backend this key is scoped to (`vllm.max_num_seqs` -> vllm), or null for every experiment. */
  scope: string | null;
}

/** The sweep's keys as dimensions, a swept backend first; bad keys are one ConfigError. */
function sweepDimensions(
  fixed: RawConfig,
  sweep: Record<string, unknown>,
  backends: BackendCatalog | undefined,
  source: string | undefined,
): SweepDimension[] {
  const keys = Object.keys(sweep);
  if (keys.length > MAX_SWEEP_KEYS) {
    throw new ConfigError(
      `${source ?? 'study'}: sweep: ${keys.length} keys, more than the limit of ${MAX_SWEEP_KEYS}.`,
      {
        fix: 'A sweep key is a field that varies; put fields with one value beside the sweep (model: ..., n: ...).',
      },
    );
  }
  const backendValues = Array.isArray(sweep.backend)
    ? sweep.backend
    : sweep.backend === undefined
      ? []
      : [sweep.backend];
  const backendNames = new Set<string>([
    'pytorch',
    ...(backends?.names() ?? []),
    ...(typeof fixed.backend === 'string' ? [fixed.backend] : []),
  ]);
  for (const value of backendValues) if (typeof value === 'string') backendNames.add(value);
  const problems: string[] = [];
  const dimensions: SweepDimension[] = [];
  // A swept backend is the outermost loop, so backend-scoped keys below it know their backend.
  for (const key of keys.includes('backend') ? ['backend', ...keys.filter((k) => k !== 'backend')] : keys) {
    const path = key.split('.');
    if (path.length > MAX_CONFIG_DEPTH) {
      problems.push(
        `sweep['${formatLongPath(path)}']: the key is nested too deeply (more than ${MAX_CONFIG_DEPTH} levels)`,
      );
      continue;
    }
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
  return dimensions;
}

interface WalkFrame {
  /** The config before this dimension is applied, and the assignments that made it. */
  config: RawConfig;
  assignments: Record<string, unknown>;
  /** The value of this dimension in use, or -1 when the dimension does not apply (other backend). */
  index: number;
}

/**
 * Hands every point of the grid to `emit`, in order (last key fastest). Iterative: one frame per
 * dimension. A point's config is its prefix's config with one more key set, so every config shares
 * all unchanged sub-objects with its neighbours (what ConfigResolver's memo and the hash memo use).
 */
function expandSweep(
  fixed: RawConfig,
  dimensions: readonly SweepDimension[],
  backends: BackendCatalog | undefined,
  source: string | undefined,
  emit: (candidate: Candidate) => void,
): void {
  const used = new Set<string>();
  const frames: WalkFrame[] = [];
  let count = 0;
  const attribute = (issue: ConfigIssue, candidate: Candidate) =>
    attributeSweepIssue(issue, dimensions, candidate.assignments, candidate.raw, backends);
  let config = fixed;
  let assignments: Record<string, unknown> = {};
  for (;;) {
    // Down to a point: the first value of every remaining dimension.
    while (frames.length < dimensions.length) {
      const dimension = dimensions[frames.length]!;
      if (dimension.scope !== null && dimension.scope !== backendOf(config)) {
        frames.push({ config, assignments, index: -1 });
        continue;
      }
      used.add(dimension.key);
      frames.push({ config, assignments, index: 0 });
      const value = dimension.values[0];
      config = setAtPath(config, dimension.path, value);
      assignments = { ...assignments, [dimension.key]: value };
    }
    emit({ origin: `sweep[${count++}]`, assignments, raw: config, attribute });
    // Up to the innermost dimension with a next value.
    let frame = frames[frames.length - 1];
    while (frame) {
      const dimension = dimensions[frames.length - 1]!;
      if (frame.index >= 0 && frame.index + 1 < dimension.values.length) break;
      frames.pop();
      frame = frames[frames.length - 1];
    }
    if (!frame) break;
    const dimension = dimensions[frames.length - 1]!;
    frame.index++;
    const value = dimension.values[frame.index];
    config = setAtPath(frame.config, dimension.path, value);
    assignments = { ...frame.assignments, [dimension.key]: value };
  }

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
  const parts: unknown[] = [config.model, config.backend, config.precision];
  for (const [key, value] of Object.entries(assignments)) {
    if (key === 'model' || key === 'backend' || key === 'precision') continue;
    parts.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  return parts.join(' ');
}
