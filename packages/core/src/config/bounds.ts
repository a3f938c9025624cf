import { ConfigError } from '../errors.js';
import { type ConfigPath, formatPath } from './issues.js';

/**
 * Limits on the shape of a config, checked before anything walks it. Real configs are a few
 * levels deep; a document (or a JS object handed to the library) nested thousands of levels deep,
 * or one that refers to itself, must be a ConfigError, never a stack overflow in a later
 * recursive step (merge, validation, hashing, printing).
 */

/** Deepest nesting of mappings and lists a config may have: the top-level mapping is level 1. */
export const MAX_CONFIG_DEPTH = 64;

/** Segments of a path shown in a message about deep nesting before it is cut short. */
const SHOWN_SEGMENTS = 8;

/** `metadata.a.a.a.a.a.a.a…`: the start of a (possibly thousands of segments long) field path. */
export function formatLongPath(path: ConfigPath): string {
  return path.length > SHOWN_SEGMENTS ? `${formatPath(path.slice(0, SHOWN_SEGMENTS))}…` : formatPath(path);
}

export function tooDeepError(source: string, path: ConfigPath): ConfigError {
  return new ConfigError(
    `${source}: ${formatLongPath(path)}: the document is nested too deeply (more than ${MAX_CONFIG_DEPTH} levels).`,
    {
      fix: `Configs are a few levels deep (at most ${MAX_CONFIG_DEPTH} levels of mappings and lists): remove the runaway nesting.`,
    },
  );
}

function unsupportedTypeError(source: string, path: ConfigPath, value: object): ConfigError {
  return new ConfigError(
    `${source}: ${formatPath(path)}: unsupported YAML value type (${value.constructor.name}).`,
    { fix: 'Use plain strings, numbers, booleans, lists and mappings.' },
  );
}

function isUnsupported(value: object): boolean {
  return value instanceof Uint8Array || value instanceof Date || value instanceof Map || value instanceof Set;
}

interface Frame {
  node: object;
  /** Keys of a mapping, or null for a list. */
  keys: string[] | null;
  index: number;
  /** Levels below this node found so far (0: no collection inside). */
  below: number;
}

/**
 * Checks that `value` is a plain JSON-like tree: no binary blobs, dates, maps or sets, at most
 * MAX_CONFIG_DEPTH levels deep, and no cycles. Shared sub-trees (a YAML alias used twice) are fine
 * and are walked once. Iterative, so the check itself cannot overflow the stack; linear in the
 * number of distinct values. Throws a ConfigError that starts with `source` and names the path.
 */
export function assertConfigBounds(value: unknown, source = 'config', at: ConfigPath = []): void {
  if (value === null || typeof value !== 'object') return;
  if (isUnsupported(value)) throw unsupportedTypeError(source, at, value);
  /** Finished nodes and how many levels they span (themselves included). */
  const done = new Map<object, number>();
  const onPath = new Set<object>();
  const path: (string | number)[] = [...at];
  const stack: Frame[] = [];
  const push = (node: object) => {
    onPath.add(node);
    stack.push({ node, keys: Array.isArray(node) ? null : Object.keys(node), index: 0, below: 0 });
  };
  push(value);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const length = frame.keys ? frame.keys.length : (frame.node as unknown[]).length;
    if (frame.index >= length) {
      stack.pop();
      onPath.delete(frame.node);
      const span = frame.below + 1;
      done.set(frame.node, span);
      const parent = stack[stack.length - 1];
      if (parent) {
        if (span > parent.below) parent.below = span;
        path.pop();
      }
      continue;
    }
    const segment = frame.keys ? frame.keys[frame.index]! : frame.index;
    frame.index++;
    const child = (frame.node as Record<string | number, unknown>)[segment];
    if (child === null || typeof child !== 'object') continue;
    if (isUnsupported(child)) throw unsupportedTypeError(source, [...path, segment], child);
    const depth = stack.length + 1;
    if (onPath.has(child)) {
      throw new ConfigError(
        `${source}: ${formatLongPath([...path, segment])}: the value refers to a ${Array.isArray(child) ? 'list' : 'mapping'} that contains it (a cycle).`,
        {
          fix: 'A config is a tree: put a copy of the values there instead of a reference to an enclosing one.',
        },
      );
    }
    const span = done.get(child);
    if (span !== undefined) {
      // A shared sub-tree, already checked: only its depth at this second place can be new.
      if (depth + span - 1 > MAX_CONFIG_DEPTH) throw tooDeepError(source, [...path, segment]);
      if (span > frame.below) frame.below = span;
      continue;
    }
    if (depth > MAX_CONFIG_DEPTH) throw tooDeepError(source, [...path, segment]);
    path.push(segment);
    push(child);
  }
}

/** The longest list inside `value` (iterative, bounded by MAX_CONFIG_DEPTH), for messages. */
export function longestList(value: unknown): { path: (string | number)[]; length: number } | null {
  let best: { path: (string | number)[]; length: number } | null = null;
  const seen = new Set<object>();
  const todo: { node: unknown; path: (string | number)[] }[] = [{ node: value, path: [] }];
  while (todo.length > 0) {
    const { node, path } = todo.pop()!;
    if (node === null || typeof node !== 'object' || seen.has(node) || path.length > MAX_CONFIG_DEPTH)
      continue;
    seen.add(node);
    if (Array.isArray(node)) {
      if (!best || node.length > best.length) best = { path, length: node.length };
      node.forEach((item, i) => {
        if (item !== null && typeof item === 'object') todo.push({ node: item, path: [...path, i] });
      });
    } else {
      for (const [key, item] of Object.entries(node))
        if (item !== null && typeof item === 'object') todo.push({ node: item, path: [...path, key] });
    }
  }
  return best;
}
