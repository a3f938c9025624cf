import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  parseDocument,
  parse as parseYamlValue,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { ConfigError } from '../errors.js';
import { assertConfigBounds, formatLongPath, MAX_CONFIG_DEPTH, tooDeepError } from './bounds.js';
import { fastPaths } from './fast-paths.js';
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

/**
 * Parses YAML or JSON text into a mapping. Duplicate keys, unknown tags, alias bombs, aliases that
 * refer to themselves and nesting deeper than MAX_CONFIG_DEPTH are errors. Every walk over the
 * document here is iterative and linear (the YAML parser's own recursion, on a document nested
 * thousands deep, is reported as such): no input overflows the stack or takes quadratic time.
 */
export function parseConfigText(text: string, source: string, format: 'yaml' | 'json' = 'yaml'): RawConfig {
  const value = format === 'json' ? parseJson(text, source) : parseYaml(text, source);
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
  assertConfigBounds(value, source);
  return value;
}

const DUPLICATE_KEY_FIX = 'Each key may appear once per mapping: remove or merge the repeated key.';

function parseYaml(text: string, source: string): unknown {
  const lifted = fastPaths.numberLists ? liftNumberLists(text) : null;
  if (lifted) {
    // Any doubt (an error, a placeholder anywhere but as a plain value) and the file is read again
    // in full: the fast path never decides what a file means, or what its error says.
    try {
      const value = readYaml(lifted.text, source, lifted);
      if (lifted.found.size === lifted.lists.size) return putListsBack(value, lifted.lists);
    } catch {
      // read in full below
    }
  }
  return readYaml(text, source);
}

/** Flow lists of plain numbers at least this long are read by liftNumberLists, not the YAML parser. */
export const FAST_LIST_MIN_ITEMS = 1000;
const PLAIN_NUMBER = /^-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,15})?$/;

export interface LiftedLists {
  /** The text with each long list replaced by a placeholder of the same length. */
  text: string;
  nonce: string;
  lists: Map<string, number[]>;
  /** Placeholders met as plain values while inspecting the document. */
  found: Set<string>;
}

/**
 * The YAML parser spends about 8 µs per item, so a sweep of 100,000 values takes most of a second
 * to read. A one-line flow list of plain decimal numbers (`[1, 2, 3, ...]`, spaces between, at least
 * FAST_LIST_MIN_ITEMS of them) means the same wherever it is a value: it is read here and replaced
 * by a placeholder scalar of the same length (so positions in messages do not move). Whether each
 * placeholder really stood for a value is checked on the parsed document (inspectYaml): one found
 * inside a quoted string, a block scalar, a comment or a key sends the file back to the full parser.
 */
export function liftNumberLists(text: string): LiftedLists | null {
  let out: string[] | null = null;
  let from = 0;
  const lists = new Map<string, number[]>();
  let nonce = '';
  for (let open = text.indexOf('['); open !== -1; open = text.indexOf('[', open + 1)) {
    let end = open + 1;
    let commas = 0;
    for (; end < text.length; end++) {
      const c = text.charCodeAt(end);
      if (c === 44) commas++;
      else if (!((c >= 48 && c <= 57) || c === 32 || c === 46 || c === 45)) break;
    }
    if (text.charCodeAt(end) !== 93 || commas + 1 < FAST_LIST_MIN_ITEMS) continue;
    const items = text.slice(open + 1, end).split(',');
    const values: number[] = new Array(items.length);
    let plain = true;
    for (let i = 0; i < items.length && plain; i++) {
      const item = items[i]!.trim();
      plain = PLAIN_NUMBER.test(item);
      values[i] = Number(item);
    }
    if (!plain) continue;
    if (nonce === '') {
      do nonce = `LLEMLIST${Math.random().toString(36).slice(2, 10)}X`;
      while (text.includes(nonce));
      out = [];
    }
    const placeholder = `${nonce}${lists.size}`;
    lists.set(placeholder, values);
    out!.push(text.slice(from, open), placeholder.padEnd(end + 1 - open, ' '));
    from = end + 1;
    open = end;
  }
  if (!out) return null;
  out.push(text.slice(from));
  return { text: out.join(''), nonce, lists, found: new Set() };
}

/** The lists back in place of their placeholders (an alias to one gets the same list, as yaml does). */
function putListsBack(value: unknown, lists: Map<string, number[]>): unknown {
  if (typeof value === 'string') return lists.get(value) ?? value;
  const todo: unknown[] = [value];
  const seen = new Set<object>();
  const visit = (holder: Record<string | number, unknown>, key: string | number) => {
    const item = holder[key];
    if (typeof item === 'string') {
      const list = lists.get(item);
      if (list) holder[key] = list;
    } else if (item !== null && typeof item === 'object') todo.push(item);
  };
  while (todo.length > 0) {
    const node = todo.pop() as Record<string | number, unknown>;
    if (seen.has(node)) continue;
    seen.add(node);
    if (Array.isArray(node)) for (let i = 0; i < node.length; i++) visit(node, i);
    else for (const key of Object.keys(node)) visit(node, key);
  }
  return value;
}

function readYaml(text: string, source: string, lifted?: LiftedLists): unknown {
  // uniqueKeys is checked by inspectYaml: the parser's own check is quadratic in a mapping's size.
  const doc = parseDocument(text, { uniqueKeys: false, merge: true, prettyErrors: true, strict: true });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const pos = problem.linePos?.[0];
    const where = pos ? `${source}:${pos.line}:${pos.col}` : source;
    // The parser recurses: a document nested thousands deep overflows its stack.
    const deep = /Maximum call stack/.test(problem.message);
    const headline = deep
      ? 'the document is nested too deeply'
      : problem.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    const fix = deep
      ? `Configs are a few levels deep (at most ${MAX_CONFIG_DEPTH} levels of mappings and lists): remove the runaway nesting.`
      : problem.code === 'MULTIPLE_DOCS'
        ? 'Keep one document per file (remove the extra "---").'
        : problem.code === 'TAG_RESOLVE_FAILED'
          ? 'Remove the custom "!tag": configs use plain YAML values.'
          : 'Fix the YAML at that line and column (check indentation, colons and brackets).';
    throw new ConfigError(`${where}: YAML error: ${headline}`, { fix });
  }
  inspectYaml(doc, text, source, lifted);
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    if (error instanceof ReferenceError || /alias/i.test(String((error as Error).message))) {
      throw new ConfigError(`${source}: too many YAML aliases (${(error as Error).message}).`, {
        fix: `Use anchors/aliases sparingly (at most ${MAX_YAML_ALIASES} per file) or write the values out.`,
      });
    }
    throw new ConfigError(`${source}: cannot read the YAML (${(error as Error).message}).`, { cause: error });
  }
}

interface YamlFrame {
  node: YAMLMap | YAMLSeq;
  /** Nesting level of this collection (the top-level mapping is 1). */
  level: number;
  /** Path segments that lead here from the parent (2 for a `key: value` pair in a flow list). */
  segments: number;
  index: number;
  /** Levels below this node found so far (0: no collection inside). */
  below: number;
  /** Keys seen so far in a mapping (scalar keys by value, other keys by node). */
  keys: Set<unknown> | null;
}

/**
 * One pass over the parsed document, in document order, before it becomes JS values: a key must
 * be a plain value and appear once per mapping; an alias must not refer to a collection that
 * contains it (the JS value would be cyclic); nesting, through aliases too, is at most
 * MAX_CONFIG_DEPTH levels. Iterative, and each node (an anchored one too) is walked once.
 */
function inspectYaml(doc: Document.Parsed, text: string, source: string, lifted?: LiftedLists): void {
  const root = doc.contents;
  /** A scalar that mentions a lifted list's placeholder must be exactly one, as a plain value. */
  const placeholder = (node: unknown, asKey: boolean) => {
    if (!lifted || !isScalar(node) || typeof node.value !== 'string' || !node.value.includes(lifted.nonce))
      return;
    if (
      asKey ||
      node.type !== 'PLAIN' ||
      node.tag ||
      !lifted.lists.has(node.value) ||
      lifted.found.has(node.value)
    )
      throw new Error('not a lifted list');
    lifted.found.add(node.value);
  };
  placeholder(root, false);
  if (!isCollection(root)) return;
  const anchors = new Map<string, unknown>();
  const done = new Map<unknown, number>();
  const onPath = new Set<unknown>();
  const path: (string | number)[] = [];
  const stack: YamlFrame[] = [];
  const at = (node: unknown) => lineColumn(text, (node as { range?: [number] } | null)?.range?.[0] ?? 0);
  const open = (node: YAMLMap | YAMLSeq, level: number, segments: number) => {
    if (node.anchor) anchors.set(node.anchor, node);
    onPath.add(node);
    stack.push({ node, level, segments, index: 0, below: 0, keys: isMap(node) ? new Set() : null });
  };
  /** A key: plain (not a collection, not an alias to one); its name as a path segment. */
  const keyName = (key: unknown): string => {
    const target = isAlias(key) ? anchors.get(key.source) : key;
    if (isCollection(target))
      throw new ConfigError(
        `${source}:${at(key)}: YAML error: a key must be a plain value, not a mapping or list.`,
        { fix: 'Write `key: value` with a plain key (remove the "?" complex key).' },
      );
    if (isScalar(key) && key.anchor) anchors.set(key.anchor, key);
    placeholder(key, true);
    const name = isScalar(target) ? target.value : key;
    return typeof name === 'symbol' ? (name.description ?? '<<') : String(name); // `<<` merges
  };
  /**
   * A value met `lift` levels below the open collection, at `segments` past its path: a leaf, or
   * a collection to walk (returned).
   */
  const child = (
    frame: YamlFrame,
    node: unknown,
    segments: (string | number)[],
    lift: number,
  ): YAMLMap | YAMLSeq | undefined => {
    let target = node;
    if (isAlias(node)) {
      target = anchors.get(node.source);
      if (isCollection(target) && onPath.has(target)) {
        const kind = isMap(target) ? 'mapping' : 'list';
        throw new ConfigError(
          `${source}: ${formatLongPath([...path, ...segments])}: the alias *${node.source} refers to a ${kind} that contains it (a cycle).`,
          {
            fix: `An alias may only repeat a value defined outside it: write the values out instead of *${node.source}.`,
          },
        );
      }
    } else if (isScalar(node)) {
      if (node.anchor) anchors.set(node.anchor, node);
      placeholder(node, false);
    }
    if (!isCollection(target)) return undefined;
    const level = frame.level + lift;
    const span = done.get(target);
    if (span !== undefined) {
      // Met again through an alias: walked already, only its depth at this place is new.
      if (level + span - 1 > MAX_CONFIG_DEPTH) throw tooDeepError(source, [...path, ...segments]);
      if (span + lift - 1 > frame.below) frame.below = span + lift - 1;
      return undefined;
    }
    if (level > MAX_CONFIG_DEPTH) throw tooDeepError(source, [...path, ...segments]);
    return target;
  };
  open(root, 1, 0);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const items = frame.node.items as unknown[];
    if (frame.index >= items.length) {
      stack.pop();
      onPath.delete(frame.node);
      const span = frame.below + 1;
      done.set(frame.node, span);
      const parent = stack[stack.length - 1];
      if (parent) {
        const below = frame.level - parent.level + span - 1;
        if (below > parent.below) parent.below = below;
      }
      path.length -= frame.segments;
      continue;
    }
    const index = frame.index++;
    const item = items[index];
    let segments: (string | number)[] = [index];
    let value: unknown = item;
    let lift = 1;
    if (isPair(item)) {
      const name = keyName(item.key);
      if (frame.keys) {
        const key = item.key;
        const id = isScalar(key) ? key.value : key;
        if (!(typeof id === 'number' && Number.isNaN(id))) {
          if (frame.keys.has(id))
            throw new ConfigError(`${source}:${at(key)}: YAML error: Map keys must be unique`, {
              fix: DUPLICATE_KEY_FIX,
            });
          frame.keys.add(id);
        }
        segments = [name];
      } else {
        // `[a: 1]`: a pair in a flow list is a one-pair mapping, one level down.
        segments = [index, name];
        lift = 2;
      }
      value = item.value;
    }
    const next = child(frame, value, segments, lift);
    if (next) {
      path.push(...segments);
      open(next, frame.level + lift, segments.length);
    }
  }
}

/** JSON: the native parser for the values, one linear scan for duplicate keys and error positions. */
function parseJson(text: string, source: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
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
  const duplicate = scanJson(text).duplicateAt;
  if (duplicate !== undefined)
    throw new ConfigError(`${source}:${lineColumn(text, duplicate)}: JSON error: Map keys must be unique`, {
      fix: DUPLICATE_KEY_FIX,
    });
  return value;
}

/** Offset of the first JSON syntax error (Node 20's JSON.parse does not always say where). */
export function jsonErrorOffset(text: string): number {
  return scanJson(text).end;
}

const JSON_LITERAL = /true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * One iterative pass over JSON text: where it stops (the end, or the first syntax error) and the
 * offset of the first key repeated within one object. Containers are an explicit stack, so any
 * nesting depth is fine.
 */
function scanJson(text: string): { end: number; duplicateAt?: number } {
  const n = text.length;
  let i = 0;
  let duplicateAt: number | undefined;
  /** Open containers: the keys of an object, or null for an array. */
  const stack: (Set<string> | null)[] = [];
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  /** Skips a string at i; false when it is unterminated. */
  const string = (): boolean => {
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return true;
      }
      i += c === 92 ? 2 : 1;
    }
    return false;
  };
  /** Reads `"key":` at i into the innermost object; false on a syntax error. */
  const key = (keys: Set<string>): boolean => {
    ws();
    if (text[i] !== '"') return false;
    const start = i;
    if (!string()) return false;
    const raw = text.slice(start + 1, i - 1);
    const name = raw.includes('\\') ? (JSON.parse(text.slice(start, i)) as string) : raw;
    if (keys.has(name)) duplicateAt ??= start;
    keys.add(name);
    ws();
    if (text[i] !== ':') return false;
    i++;
    return true;
  };
  const stop = () => ({ end: Math.min(i, n), duplicateAt });
  for (;;) {
    // A value at i.
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      i++;
      ws();
      if (text[i] === (c === '{' ? '}' : ']')) i++;
      else {
        const keys = c === '{' ? new Set<string>() : null;
        stack.push(keys);
        if (keys && !key(keys)) return stop();
        continue;
      }
    } else if (c === '"') {
      if (!string()) return stop();
    } else {
      JSON_LITERAL.lastIndex = i;
      const literal = JSON_LITERAL.exec(text);
      if (!literal) return stop();
      i += literal[0].length;
    }
    // After a value: a separator, or the close of one or more containers.
    for (;;) {
      ws();
      if (stack.length === 0) return stop();
      const keys = stack[stack.length - 1]!;
      if (text[i] === ',') {
        i++;
        if (keys && !key(keys)) return stop();
        break;
      }
      if (text[i] !== (keys ? '}' : ']')) return stop();
      i++;
      stack.pop();
    }
  }
}

function lineColumn(text: string, offset: number): string {
  let line = 1;
  let start = 0;
  for (let at = text.indexOf('\n'); at !== -1 && at < offset; at = text.indexOf('\n', at + 1)) {
    line++;
    start = at + 1;
  }
  return `${line}:${offset - start + 1}`;
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
  if (path.length > MAX_CONFIG_DEPTH) {
    throw new ConfigError(
      `--set ${formatLongPath(path)}: the field path is nested too deeply (more than ${MAX_CONFIG_DEPTH} levels).`,
      { fix: 'Use a real field path, e.g. pytorch.batch_size=4' },
    );
  }
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
  if (path.length === 0) return target;
  const out: RawConfig = { ...target };
  let level = out;
  for (let i = 0; i < path.length - 1; i++) {
    const head = path[i]!;
    const next: RawConfig = isMapping(level[head]) ? { ...(level[head] as RawConfig) } : {};
    level[head] = next;
    level = next;
  }
  level[path[path.length - 1]!] = value;
  return out;
}

/**
 * Recursive merge: mappings merge, anything else from `top` replaces. Inputs are untouched.
 * Iterative; where both sides nest deeper than MAX_CONFIG_DEPTH (or are cyclic) it is a ConfigError.
 */
export function deepMerge(bottom: RawConfig, top: RawConfig): RawConfig {
  const out: RawConfig = { ...bottom };
  const todo: { into: RawConfig; from: RawConfig; path: string[] }[] = [{ into: out, from: top, path: [] }];
  while (todo.length > 0) {
    const { into, from, path } = todo.pop()!;
    for (const [key, value] of Object.entries(from)) {
      const below = into[key];
      if (!(isMapping(value) && isMapping(below))) {
        into[key] = value;
        continue;
      }
      if (path.length + 1 >= MAX_CONFIG_DEPTH) throw tooDeepError('config', [...path, key]);
      const merged: RawConfig = { ...below };
      into[key] = merged;
      todo.push({ into: merged, from: value, path: [...path, key] });
    }
  }
  return out;
}

export interface ConfigOverride {
  /** Dotted field path, e.g. `pytorch.batch_size`. */
  path: string[];
  value: unknown;
  /** The command-line flag it came from (`--set decoder.temperature`, `--model`): a bad value blames it, not the file. */
  flag?: string;
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
