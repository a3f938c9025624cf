import { z } from 'zod';
import type { BackendCatalog, BackendPlugin } from '../plugins/backend.js';
import { type ExperimentConfig, ExperimentConfigBaseSchema } from './experiment.js';
import { type ConfigIssue, type ConfigPath, validateWith } from './issues.js';
import { didYouMean } from './suggest.js';

/**
 * Validation of raw experiment configs, the engine behind `checkExperimentConfig` (which first
 * checks the input's shape, see bounds.ts) and study expansion (which checks the whole study once).
 *
 * - `checkExperimentFields`: the full check. Every problem, each with its field path.
 * - `ConfigResolver`: the same answer for valid configs, fast when many configs share most of
 *   their values (the points of a sweep). Internal module: not exported from the package.
 */

export interface CheckOptions {
  /** Validates the backend section and the backend name. Without it the section is kept as given. */
  backends?: BackendCatalog;
  /** Where the config sits inside a bigger file (a study's `experiments[3]`). */
  pathPrefix?: ConfigPath;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Validation problems of a raw config, empty when it is valid (then `config` is the resolved one). */
export function checkExperimentFields(
  raw: unknown,
  options: CheckOptions = {},
): { issues: ConfigIssue[]; config?: ExperimentConfig } {
  const prefix = options.pathPrefix ?? [];
  if (!isMapping(raw))
    return { issues: [{ path: prefix, message: 'an experiment must be a mapping of fields' }] };
  const backendName = typeof raw.backend === 'string' ? raw.backend : 'pytorch';
  const known = options.backends?.names() ?? [];
  const { [backendName]: rawSection, ...rest } = raw;
  const issues: ConfigIssue[] = [];
  const add = (more: readonly ConfigIssue[]) => {
    // A loop, not push(...more): a list with a huge number of bad items gives as many issues.
    for (const issue of more) issues.push(issue);
  };

  for (const key of Object.keys(rest)) {
    if (known.includes(key)) {
      issues.push({
        path: [...prefix, key],
        message: `a '${key}:' section was given but backend is '${backendName}'; remove the section or set backend: ${key}`,
      });
      delete rest[key];
    }
  }

  const parsed = validateWith(ExperimentConfigBaseSchema, rest, prefix, { reportInput: true });
  if (!parsed.ok) add(parsed.issues);

  let section: unknown = rawSection ?? {};
  const plugin = options.backends?.get(backendName);
  if (options.backends && !plugin) {
    const hint = didYouMean(backendName, known);
    issues.push({
      path: [...prefix, 'backend'],
      message: `unknown backend '${backendName}'${hint ? ` (did you mean '${hint}'?)` : ''}; installed: ${known.join(', ') || 'none'}`,
    });
  } else if (plugin) {
    const sectionResult = validateWith(plugin.configSchema as z.ZodType, section, [...prefix, backendName], {
      reportInput: true,
    });
    if (sectionResult.ok) section = sectionResult.data;
    else add(sectionResult.issues);
  }
  if (issues.length > 0 || !parsed.ok) return { issues };

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

/** Most distinct values remembered per field (and per backend section). */
const MEMO_LIMIT = 4096;

/** A value the fast path cannot vouch for: the full check decides (and names the problems). */
const INVALID: unique symbol = Symbol('invalid');
/** An absent optional key: left out of the resolved config. */
const SKIP: unique symbol = Symbol('skip');
/** Memo key of an absent (or null) backend section, which validates as `{}`. */
const NO_SECTION: unique symbol = Symbol('no section');

interface ZodInternals {
  _zod: {
    optin?: unknown;
    optout?: unknown;
    def: { type: string; checks?: unknown[]; catchall?: ZodInternals };
  };
}

interface Field {
  key: string;
  schema: z.ZodType;
  optin: 'optional' | 'defaulted' | undefined;
  optout: 'optional' | undefined;
  /** Parsed value by input value (primitives by value, objects by identity). */
  memo: Map<unknown, unknown>;
  /** What a missing key resolves to (SKIP, INVALID or a default), once computed. */
  absent: { value: unknown } | null;
}

/**
 * The base schema's fields, or null when its shape is one the fast path does not mirror (it must
 * be a strict object whose fields are independent: no object-level refinement or transform).
 */
const FIELDS: readonly Field[] | null = (() => {
  const schema = ExperimentConfigBaseSchema as unknown as ZodInternals;
  const def = schema._zod.def;
  if (
    !(ExperimentConfigBaseSchema instanceof z.ZodObject) ||
    (def.checks?.length ?? 0) > 0 ||
    def.catchall?._zod.def.type !== 'never'
  )
    return null;
  const fields: Field[] = [];
  for (const [key, fieldSchema] of Object.entries(ExperimentConfigBaseSchema.shape)) {
    const { optin, optout } = (fieldSchema as unknown as ZodInternals)._zod;
    if (
      ![undefined, 'optional', 'defaulted'].includes(optin as string) ||
      ![undefined, 'optional'].includes(optout as string)
    )
      return null;
    fields.push({
      key,
      schema: fieldSchema as z.ZodType,
      optin: optin as Field['optin'],
      optout: optout as Field['optout'],
      memo: new Map(),
      absent: null,
    });
  }
  return fields;
})();
const FIELD_INDEX = new Map(FIELDS?.map((field, index) => [field.key, index]));
const PRECISION_INDEX = FIELD_INDEX.get('precision') ?? -1;

/** Parses one field's value on its own, as the object schema would: INVALID on any issue. */
function parseField(field: Field, value: unknown): unknown {
  let result: ReturnType<z.ZodType['safeParse']>;
  try {
    result = field.schema.safeParse(value);
  } catch {
    return INVALID; // zod overflowing on a huge list of bad items: the full check reports it
  }
  if (!result.success) return INVALID;
  const out = result.data;
  // What checkExperimentFields does to the resolved decoder: the preset has been applied.
  if (field.key === 'decoder' && isMapping(out)) delete out.preset;
  return out;
}

/** zod's rule for a key missing from the input (handlePropertyResult), computed once per field. */
function absentValue(field: Field): unknown {
  const { optin, optout } = field;
  if (optout === 'optional' && optin === 'optional') return SKIP;
  const result = field.schema.safeParse(undefined);
  if (!result.success) return optin !== undefined && optout === 'optional' ? SKIP : INVALID;
  if (optin === undefined) return INVALID;
  if (result.data === undefined) return optin === 'defaulted' && optout !== 'optional' ? undefined : SKIP;
  return parseField(field, undefined);
}

/** A backend section parsed by the plugin's schema: INVALID on any issue. */
function parseSection(schema: z.ZodType, section: unknown): unknown {
  try {
    const result = schema.safeParse(section);
    return result.success ? result.data : INVALID;
  } catch {
    return INVALID;
  }
}

/**
 * Resolves many raw configs that share most of their values. The base schema is a strict object
 * whose fields validate independently, so each field's value is validated once per distinct value
 * (objects by identity: a sweep shares every unchanged sub-object between its points) and a
 * config is assembled from those results; checks across fields (backend precision, the plugin's
 * `validate`) run for every config. `resolve` returns what `checkExperimentFields` returns for a
 * valid config, or undefined for anything else: the caller then runs the full check, which names
 * the problems. Resolved configs share unchanged sub-objects: treat them as read-only.
 */
export class ConfigResolver {
  private readonly known: ReadonlySet<string>;
  /** Per backend name: its plugin, and its parsed sections by input (objects by identity). */
  private readonly plugins = new Map<
    string,
    { plugin: BackendPlugin | undefined; sections: Map<unknown, unknown> }
  >();
  private readonly fields: readonly Field[] | null;
  /** Which fields the config being resolved has (reused: one flag per field). */
  private readonly present = new Uint8Array(FIELDS?.length ?? 0);
  /** Each field's resolved value (or SKIP) for this config and for the previous valid one. */
  private outs: unknown[] = new Array(FIELDS?.length ?? 0);
  private previousOuts: unknown[] = new Array(FIELDS?.length ?? 0);
  private previous: { backendName: string; section: unknown; config: Record<string, unknown> } | null = null;

  constructor(private readonly backends?: BackendCatalog) {
    this.known = new Set(backends?.names() ?? []);
    // Memos are per resolver (one study expansion): inputs do not change while it is in use.
    this.fields = FIELDS?.map((field) => ({ ...field, memo: new Map(), absent: null })) ?? null;
  }

  resolve(raw: Record<string, unknown>): ExperimentConfig | undefined {
    const fields = this.fields;
    if (!fields) return undefined;
    const backendName = typeof raw.backend === 'string' ? raw.backend : 'pytorch';
    // The keys zod sees: raw's own enumerable keys but the backend section (an object spread).
    const present = this.present.fill(0);
    for (const key of Object.keys(raw)) {
      if (key === backendName) continue;
      const index = FIELD_INDEX.get(key);
      if (index === undefined || this.known.has(key)) return undefined;
      present[index] = 1;
    }
    const outs = this.outs;
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      let out: unknown;
      if (present[i] === 0) {
        field.absent ??= { value: absentValue(field) };
        out = field.absent.value;
      } else {
        const value = raw[field.key];
        // A Map holds -0 and 0 as one key: -0 is parsed every time, never memoised.
        if (Object.is(value, -0)) out = parseField(field, value);
        else {
          out = field.memo.get(value);
          if (out === undefined && !field.memo.has(value)) {
            out = parseField(field, value);
            // A swept field has as many values as points: past a few thousand, values are parsed
            // as they come (a map of 100,000 one-off entries costs more than it saves).
            if (field.memo.size < MEMO_LIMIT) field.memo.set(value, out);
          }
        }
      }
      if (out === INVALID) return undefined;
      outs[i] = out;
    }
    let backend = this.plugins.get(backendName);
    if (!backend) {
      backend = { plugin: this.backends?.get(backendName), sections: new Map() };
      this.plugins.set(backendName, backend);
    }
    const plugin = backend.plugin;
    if (this.backends && !plugin) return undefined;
    const rawSection = raw[backendName];
    let section: unknown = rawSection ?? {};
    if (plugin) {
      const key = rawSection ?? NO_SECTION;
      let parsed = Object.is(key, -0) ? undefined : backend.sections.get(key);
      if (parsed === undefined) {
        parsed = parseSection(plugin.configSchema as z.ZodType, section);
        if (!Object.is(key, -0) && backend.sections.size < MEMO_LIMIT) backend.sections.set(key, parsed);
      }
      if (parsed === INVALID) return undefined;
      section = parsed;
    }
    const config = this.assemble(backendName, section);
    const precision = outs[PRECISION_INDEX];
    const resolved = config as ExperimentConfig;
    if (
      plugin?.supportedPrecisions &&
      !plugin.supportedPrecisions.includes(precision as ExperimentConfig['precision'])
    )
      return undefined;
    if ((plugin?.validate?.(resolved) ?? []).length > 0) return undefined;
    this.previous = { backendName, section, config };
    [this.outs, this.previousOuts] = [this.previousOuts, this.outs];
    return resolved;
  }

  /**
   * `{ ...fields, [backendName]: section }` from `outs`, in the fields' order (zod's): a copy of
   * the previous config with the changed values set when the two have the same keys, which is
   * what a sweep's points are.
   */
  private assemble(backendName: string, section: unknown): Record<string, unknown> {
    const fields = this.fields!;
    const outs = this.outs;
    const prev = this.previous;
    const before = this.previousOuts;
    let same = prev !== null && prev.backendName === backendName && !FIELD_INDEX.has(backendName);
    for (let i = 0; same && i < fields.length; i++) same = (outs[i] === SKIP) === (before[i] === SKIP);
    if (same) {
      const config = { ...prev!.config };
      for (let i = 0; i < fields.length; i++) if (outs[i] !== before[i]) config[fields[i]!.key] = outs[i];
      if (section !== prev!.section) config[backendName] = section;
      return config;
    }
    const config: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) if (outs[i] !== SKIP) config[fields[i]!.key] = outs[i];
    // As `{ ...base, [backendName]: section }`: a key already there keeps its place.
    config[backendName] = section;
    return config;
  }
}
