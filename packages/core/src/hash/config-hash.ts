import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { canonicalizeWith, canonicalKey } from './jcs.js';

/**
 * Top-level config keys that do not change what is measured: identity, where output goes,
 * how it is launched, free-form metadata. They never enter the hash.
 */
export const VOLATILE_CONFIG_KEYS = [
  'id',
  'name',
  'output_dir',
  'metadata',
  'runner',
  'launch',
  'timeout_seconds',
  'plugins',
] as const;

const VOLATILE = new Set<string>(VOLATILE_CONFIG_KEYS);

/** One-shot `crypto.hash` (Node >= 20.12) where there is one: the same digest, half the overhead. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

export function sha256Hex(text: string): string {
  return oneShot ? oneShot('sha256', text, 'hex') : createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Stable identity of a *resolved* config (defaults applied): SHA-256 of its RFC 8785 canonical
 * JSON with volatile keys removed, first 16 lowercase hex characters. `memo` (see
 * CanonicalizeOptions) lets many configs that share unchanged sub-objects serialise them once.
 */
export function computeConfigHash(config: Record<string, unknown>, memo?: WeakMap<object, string>): string {
  return sha256Hex(canonicalizeWith(config, { omitTopLevel: VOLATILE, memo })).slice(0, 16);
}

/**
 * computeConfigHash for many configs in a row (the points of a study), with the same results.
 * Configs that share sub-objects and top-level values with the previous one (a sweep changes one
 * key at a time) reuse their canonical text: only what changed is serialised again. For configs
 * that do not change while the hasher is in use.
 */
export class ConfigHasher {
  private readonly memo = new WeakMap<object, string>();
  /** The previous config's keys as found, then in canonical order; its values and `"key":value` texts. */
  private found: string[] = [];
  private keys: readonly string[] = [];
  private values: unknown[] = [];
  private members: string[] = [];
  /** The text around the one member that changed last time, while the others stay the same. */
  private split: { index: number; before: string; after: string } | null = null;

  hash(config: Record<string, unknown>): string {
    const found: string[] = [];
    for (const key of Object.keys(config))
      if (config[key] !== undefined && !VOLATILE.has(key)) found.push(key);
    let same = found.length === this.found.length;
    for (let i = 0; same && i < found.length; i++) same = found[i] === this.found[i];
    if (!same) {
      this.found = found;
      // The default sort compares UTF-16 code units, which is RFC 8785's order.
      const keys = [...found].sort();
      this.keys = keys;
      this.values = new Array(keys.length);
      this.members = new Array(keys.length);
      this.split = null;
      for (let i = 0; i < keys.length; i++) this.set(i, keys[i]!, config[keys[i]!]);
      return this.digest(`{${this.members.join(',')}}`);
    }
    const keys = this.keys;
    let changed = -1;
    for (let i = 0; i < keys.length; i++) {
      const value = config[keys[i]!];
      if (value === this.values[i]) continue;
      this.set(i, keys[i]!, value);
      changed = changed === -1 ? i : -2;
    }
    if (changed < 0 || this.split?.index !== changed) {
      // More than one member changed (or a new one): the text is joined again, and the split
      // around `changed` kept for the next config, which likely changes the same member.
      this.split =
        changed < 0
          ? null
          : {
              index: changed,
              before: `{${this.members.slice(0, changed).join(',')}${changed > 0 ? ',' : ''}`,
              after: `${changed < keys.length - 1 ? ',' : ''}${this.members.slice(changed + 1).join(',')}}`,
            };
    }
    const split = this.split;
    return this.digest(
      split ? split.before + this.members[split.index]! + split.after : `{${this.members.join(',')}}`,
    );
  }

  private set(index: number, key: string, value: unknown): void {
    this.values[index] = value;
    this.members[index] = `${canonicalKey(key)}:${canonicalizeWith(value, { memo: this.memo })}`;
  }

  private digest(text: string): string {
    return sha256Hex(text).slice(0, 16);
  }
}
