import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { isCollection, parseDocument, parse as parseYamlValue, visit } from 'yaml';
import { ConfigError } from '../errors.js';
import { STUDY_KEYS } from './study.js';

/**
 * Reading a config file (YAML or JSON) into a plain object, with one clear ConfigError per
 * problem: the file, the line:column or field path, and the fix. Validation of the fields
 * themselves is `resolveExperimentConfig`'s job; this module only gets a trustworthy raw mapping.
 */

export type RawConfig = Record<string, unknown>;
export type ConfigFileKind = 'experiment' | 'study';

export interface LoadedConfigFile {
  path: string;
  raw: RawConfig;
  kind: ConfigFileKind;
}

/** Aliases allowed per document: enough for real configs, far too few for a "billion laughs" bomb. */
export const MAX_YAML_ALIASES = 100;
export const CONFIG_SUFFIXES = ['.yaml', '.yml', '.json'] as const;

/** Keys only a study has. `name` and `version` are shared with experiments, so they decide nothing. */
export const STUDY_ONLY_KEYS: readonly string[] = STUDY_KEYS.filter(
  (key) => key !== 'name' && key !== 'version',
);

export function isMapping(value: unknown): value is RawConfig {
  return (
    value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

/** A study file has at least one study-only key (sweep, experiments, cycles, ...). */
export function detectConfigKind(raw: RawConfig): ConfigFileKind {
  return Object.keys(raw).some((key) => STUDY_ONLY_KEYS.includes(key)) ? 'study' : 'experiment';
}

/** Reads, decodes and parses a config file; throws ConfigError naming the file on any problem. */
export function loadConfigFile(path: string): LoadedConfigFile {
  const suffix = extname(path).toLowerCase();
  if (!(CONFIG_SUFFIXES as readonly string[]).includes(suffix)) {
    throw new ConfigError(`${path}: unsupported config file type '${suffix || '(none)'}'.`, {
      fix: 'Use a .yaml, .yml or .json file.',
    });
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new ConfigError(`${path}: config file not found.`, {
        fix: 'Check the path (it is relative to the current directory).',
      });
    if (code === 'EISDIR')
      throw new ConfigError(`${path}: is a directory, not a config file.`, {
        fix: 'Pass the YAML file inside it.',
      });
    throw new ConfigError(`${path}: cannot read the config file (${code ?? String(error)}).`, {
      fix: 'Check its permissions.',
      cause: error,
    });
  }
  const text = decodeUtf8(bytes, path);
  const raw = parseConfigText(text, path, suffix === '.json' ? 'json' : 'yaml');
  return { path, raw, kind: detectConfigKind(raw) };
}

/** Strict UTF-8 decoding; the error names the line of the first bad byte. */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const lenient = new TextDecoder('utf-8').decode(bytes);
    const bad = lenient.indexOf('\uFFFD');
    const line = bad < 0 ? 1 : lenient.slice(0, bad).split('\n').length;
    throw new ConfigError(`${source}:${line}: the file is not valid UTF-8.`, {
      fix: 'Save the file as UTF-8 (most editors have an "encoding" option).',
    });
  }
}

/** Parses YAML or JSON text into a mapping. Duplicate keys, unknown tags and alias bombs are errors. */
export function parseConfigText(text: string, source: string, format: 'yaml' | 'json' = 'yaml'): RawConfig {
  if (format === 'json') assertJsonSyntax(text, source);
  // JSON is parsed by the YAML parser too (after the syntax check): it is the one that reports duplicate keys.
  const doc = parseDocument(text, { uniqueKeys: true, merge: true, prettyErrors: true, strict: true });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const pos = problem.linePos?.[0];
    const where = pos ? `${source}:${pos.line}:${pos.col}` : source;
    // The parser recurses: a document nested thousands deep overflows its stack.
    const headline = /Maximum call stack/.test(problem.message)
      ? 'the document is nested too deeply'
      : problem.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    const fix =
      problem.code === 'DUPLICATE_KEY'
        ? 'Each key may appear once per mapping: remove or merge the repeated key.'
        : problem.code === 'MULTIPLE_DOCS'
          ? 'Keep one document per file (remove the extra "---").'
          : problem.code === 'TAG_RESOLVE_FAILED'
            ? 'Remove the custom "!tag": configs use plain YAML values.'
            : 'Fix the YAML at that line and column (check indentation, colons and brackets).';
    throw new ConfigError(`${where}: ${format === 'json' ? 'JSON' : 'YAML'} error: ${headline}`, { fix });
  }
  assertPlainKeys(doc, text, source);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    if (error instanceof ReferenceError || /alias/i.test(String((error as Error).message))) {
      throw new ConfigError(`${source}: too many YAML aliases (${(error as Error).message}).`, {
        fix: `Use anchors/aliases sparingly (at most ${MAX_YAML_ALIASES} per file) or write the values out.`,
      });
    }
    throw new ConfigError(`${source}: cannot read the YAML (${(error as Error).message}).`, { cause: error });
  }
  if (value === null || value === undefined) {
    throw new ConfigError(`${source}: the file is empty.`, {
      fix: 'Add at least `model: <id>` (see examples/).',
    });
  }
  if (!isMapping(value)) {
    const got = Array.isArray(value) ? 'a list' : `a ${typeof value}`;
    throw new ConfigError(`${source}: the top level must be a mapping of fields (key: value), got ${got}.`, {
      fix: 'Start the file with fields such as `model: builtin:tiny-gpt2`, not with "- " or a bare value.',
    });
  }
  assertPlainValues(value, source, []);
  return value;
}

/** A mapping or list used as a key (`? {a: 1}`) would be stringified, with a process warning. */
function assertPlainKeys(doc: ReturnType<typeof parseDocument>, text: string, source: string): void {
  let offset: number | undefined;
  try {
    visit(doc, {
      Pair(_, pair) {
        if (!isCollection(pair.key)) return undefined;
        offset = pair.key.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
  } catch {
    throw new ConfigError(`${source}: YAML error: the document is nested too deeply.`, {
      fix: 'Configs are a few levels deep: remove the runaway nesting.',
    });
  }
  if (offset !== undefined)
    throw new ConfigError(
      `${source}:${lineColumn(text, offset)}: YAML error: a key must be a plain value, not a mapping or list.`,
      {
        fix: 'Write `key: value` with a plain key (remove the "?" complex key).',
      },
    );
}

function assertJsonSyntax(text: string, source: string): void {
  try {
    JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message
      .replace(/, "[\s\S]*" is not valid JSON$/, '')
      .replace(/ in JSON at position \d+.*$/, '');
    throw new ConfigError(
      `${source}:${lineColumn(text, jsonErrorOffset(text))}: JSON syntax error: ${message}`,
      {
        fix: 'Fix the JSON at that position (check commas, quotes and brackets).',
      },
    );
  }
}

/** Offset of the first JSON syntax error (Node 20's JSON.parse does not always say where). */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        if (c === '{') {
          ws();
          if (text[i] !== '"') fail();
          string();
          ws();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) return void i++;
        else fail();
      }
    }
    if (c === '"') {
      string();
      return;
    }
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(
      text.slice(i, i + 400),
    );
    if (!literal) fail();
    i += literal![0].length;
  };
  const string = () => {
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail();
    i++;
  };
  try {
    value();
    ws();
    return Math.min(i, text.length);
  } catch (offset) {
    return Math.min(offset as number, text.length);
  }
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

/** Only JSON-like values: no binary blobs, no keys that are not strings. */
function assertPlainValues(value: unknown, source: string, path: (string | number)[]): void {
  if (value instanceof Uint8Array || value instanceof Date || value instanceof Map || value instanceof Set) {
    throw new ConfigError(
      `${source}: ${path.join('.') || '(root)'}: unsupported YAML value type (${value.constructor.name}).`,
      {
        fix: 'Use plain strings, numbers, booleans, lists and mappings.',
      },
    );
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) assertPlainValues(item, source, [...path, index]);
  } else if (isMapping(value))
    for (const [key, item] of Object.entries(value)) assertPlainValues(item, source, [...path, key]);
}

/**
 * One `--set key=value` override: a dotted path and a YAML-typed value (`n=8` is a number,
 * `decoder.preset=deterministic` a string, `gpus=[0,1]` a list).
 */
export function parseSetOverride(text: string): { path: string[]; value: unknown } {
  const eq = text.indexOf('=');
  const key = eq < 0 ? '' : text.slice(0, eq).trim();
  if (eq < 0 || key === '') {
    throw new ConfigError(`--set ${JSON.stringify(text)}: expected key=value.`, {
      fix: 'For example: --set decoder.temperature=0.7',
    });
  }
  const path = key.split('.');
  if (
    path.some((part) => part === '' || part === '__proto__' || part === 'constructor' || part === 'prototype')
  ) {
    throw new ConfigError(`--set ${JSON.stringify(text)}: '${key}' is not a valid dotted field path.`, {
      fix: 'Use field names separated by dots, e.g. pytorch.batch_size=4',
    });
  }
  let value: unknown;
  try {
    value = parseYamlValue(text.slice(eq + 1), { strict: true, maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    throw new ConfigError(
      `--set ${key}: cannot read the value (${(error as Error).message.split('\n')[0]}).`,
      {
        fix: 'Quote strings with special characters, e.g. --set "name=\'a: b\'"',
      },
    );
  }
  return { path, value: value === undefined ? null : value };
}

/** Sets `value` at a dotted `path` in a copy of `target`, creating mappings on the way. */
export function setAtPath(target: RawConfig, path: readonly string[], value: unknown): RawConfig {
  const [head, ...rest] = path;
  if (head === undefined) return target;
  const out: RawConfig = { ...target };
  if (rest.length === 0) out[head] = value;
  else out[head] = setAtPath(isMapping(out[head]) ? (out[head] as RawConfig) : {}, rest, value);
  return out;
}

/** Recursive merge: mappings merge, anything else from `top` replaces. Inputs are untouched. */
export function deepMerge(bottom: RawConfig, top: RawConfig): RawConfig {
  const out: RawConfig = { ...bottom };
  for (const [key, value] of Object.entries(top)) {
    out[key] = isMapping(value) && isMapping(out[key]) ? deepMerge(out[key] as RawConfig, value) : value;
  }
  return out;
}

export interface ConfigOverride {
  /** Dotted field path, e.g. `pytorch.batch_size`. */
  path: string[];
  value: unknown;
}

/**
 * Applies command-line overrides to a raw experiment or study. In a study an override is the
 * user's last word for every experiment: it is set on the base fields and on each explicit
 * `experiments[]` entry, and a sweep over the same key is dropped (so `--batch-size 4` on a
 * batch-size sweep runs batch size 4 only).
 */
export function applyOverrides(
  raw: RawConfig,
  kind: ConfigFileKind,
  overrides: readonly ConfigOverride[],
): RawConfig {
  let out: RawConfig = { ...raw };
  for (const { path, value } of overrides) {
    out = setAtPath(out, path, value);
    if (kind !== 'study') continue;
    const dotted = path.join('.');
    if (isMapping(out.sweep)) {
      const sweep = { ...(out.sweep as RawConfig) };
      for (const key of Object.keys(sweep))
        if (key === dotted || key.startsWith(`${dotted}.`) || dotted.startsWith(`${key}.`)) delete sweep[key];
      out.sweep = sweep;
      if (Object.keys(sweep).length === 0) delete out.sweep;
    }
    if (Array.isArray(out.experiments)) {
      out.experiments = out.experiments.map((entry) =>
        isMapping(entry) ? setAtPath(entry, path, value) : entry,
      );
    }
  }
  return out;
}
