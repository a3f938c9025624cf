/**
 * RFC 8785 JSON Canonicalization Scheme. Object keys are sorted by UTF-16 code units,
 * numbers use ECMAScript's shortest round-trip form (what `JSON.stringify` emits), strings
 * use JSON.stringify's escaping, which is the RFC's.
 */
export function canonicalize(value: unknown): string {
  return canonicalizeWith(value);
}

export interface CanonicalizeOptions {
  /** Keys left out of the top-level object (the volatile config keys). */
  omitTopLevel?: ReadonlySet<string>;
  /**
   * Canonical text of objects already seen, by identity. Only for values that do not change while
   * the map is in use (one study expansion): an object shared by many configs is serialised once.
   */
  memo?: WeakMap<object, string>;
}

interface Frame {
  node: object;
  /** Sorted keys of an object, or null for an array. */
  keys: string[] | null;
  length: number;
  index: number;
  text: string;
}

function scalar(value: unknown): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`Cannot canonicalize non-finite number ${value}`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object':
      return undefined;
    default:
      throw new TypeError(`Cannot canonicalize a value of type ${typeof value}`);
  }
}

/**
 * The last key order sorted, for objects of the same shape in a row (the configs of a study):
 * checking that the keys are the same costs less than sorting them again.
 */
let lastOrder: { keys: string[]; sorted: string[] } | null = null;

function sortedKeys(node: object, omit: ReadonlySet<string> | undefined): string[] {
  const keys: string[] = [];
  for (const key of Object.keys(node)) {
    if ((node as Record<string, unknown>)[key] === undefined || omit?.has(key)) continue;
    keys.push(key);
  }
  const last = lastOrder;
  if (last && last.keys.length === keys.length) {
    let same = true;
    for (let i = 0; i < keys.length && same; i++) same = keys[i] === last.keys[i];
    if (same) return last.sorted;
  }
  // The default sort compares UTF-16 code units, which is RFC 8785's order.
  const sorted = [...keys].sort();
  if (keys.length >= 4) lastOrder = { keys, sorted };
  return sorted;
}

/** Quoted keys (`"name"`): a config has few distinct keys, serialised many times. */
const quotedKeys = new Map<string, string>();

/** A key as RFC 8785 writes it (`"name"`). */
export function canonicalKey(key: string): string {
  let text = quotedKeys.get(key);
  if (text === undefined) {
    text = JSON.stringify(key);
    if (quotedKeys.size < 10_000) quotedKeys.set(key, text);
  }
  return text;
}

/**
 * `canonicalize` with options. Iterative: a deep value cannot overflow the stack, and a cyclic one
 * is a TypeError. Byte-identical to the recursive definition: object members whose value is
 * undefined are dropped, array items that are undefined are written as null.
 */
export function canonicalizeWith(root: unknown, options: CanonicalizeOptions = {}): string {
  const { omitTopLevel, memo } = options;
  const top = scalar(root);
  if (top !== undefined) return top;
  const stack: Frame[] = [];
  const onPath = new Set<object>();
  let value: unknown = root;
  for (;;) {
    // Descend into `value`: either its text is known at once, or a frame is opened for it.
    let text = scalar(value);
    if (text === undefined) {
      const node = value as object;
      // The top-level object is not memoised when keys are left out of it: its text is partial.
      const memoised = memo && !(omitTopLevel && node === root) ? memo : undefined;
      text = memoised?.get(node);
      if (text === undefined) {
        if (onPath.has(node)) throw new TypeError('Cannot canonicalize a cyclic structure');
        const keys = Array.isArray(node)
          ? null
          : sortedKeys(node, stack.length === 0 ? omitTopLevel : undefined);
        const length = keys ? keys.length : (node as unknown[]).length;
        if (length === 0) text = keys ? '{}' : '[]';
        else {
          onPath.add(node);
          if (keys) {
            stack.push({ node, keys, length, index: 0, text: `{${canonicalKey(keys[0]!)}:` });
            value = (node as Record<string, unknown>)[keys[0]!];
          } else {
            stack.push({ node, keys, length, index: 0, text: '[' });
            value = (node as unknown[])[0] ?? null;
          }
          continue;
        }
      }
    }
    // Ascend: append the finished text to the open frames, closing those that are complete.
    for (;;) {
      const frame = stack[stack.length - 1];
      if (!frame) return text;
      frame.text += text;
      frame.index++;
      if (frame.index < frame.length) {
        if (frame.keys) {
          const key = frame.keys[frame.index]!;
          frame.text += `,${canonicalKey(key)}:`;
          value = (frame.node as Record<string, unknown>)[key];
        } else {
          frame.text += ',';
          value = (frame.node as unknown[])[frame.index] ?? null;
        }
        break;
      }
      text = frame.text + (frame.keys ? '}' : ']');
      stack.pop();
      onPath.delete(frame.node);
      if (memo && !(omitTopLevel && frame.node === root)) memo.set(frame.node, text);
    }
  }
}
