import { createHash } from 'node:crypto';
import { canonicalize } from './jcs.js';

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
  'timeout_seconds',
  'plugins',
] as const;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Stable identity of a *resolved* config (defaults applied): SHA-256 of its RFC 8785 canonical
 * JSON with volatile keys removed, first 16 lowercase hex characters.
 */
export function computeConfigHash(config: Record<string, unknown>): string {
  const measured: Record<string, unknown> = { ...config };
  for (const key of VOLATILE_CONFIG_KEYS) delete measured[key];
  return sha256Hex(canonicalize(measured)).slice(0, 16);
}
