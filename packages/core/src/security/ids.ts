import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ConfigError } from '../errors.js';

export const MAX_EXPERIMENT_ID_LENGTH = 128;
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Returns `id` if it is safe to use as a file or row name, else throws ConfigError.
 * Safe: ASCII letters, digits, `.`, `_`, `-`; starts with a letter or digit; no `..`; at most 128 chars.
 * Nothing is silently rewritten: two different ids must never map to one record.
 */
export function sanitizeExperimentId(id: string): string {
  if (
    typeof id === 'string' &&
    id.length <= MAX_EXPERIMENT_ID_LENGTH &&
    SAFE_ID.test(id) &&
    !id.includes('..')
  )
    return id; // the common case, checked in one pass (a study plans one id per run)
  const shown = JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id);
  if (typeof id !== 'string' || id.length === 0) throw new ConfigError('Experiment id cannot be empty.');
  if (id.includes('\0')) throw new ConfigError(`Experiment id ${shown} contains a NUL byte.`);
  if (id.length > MAX_EXPERIMENT_ID_LENGTH) {
    throw new ConfigError(
      `Experiment id ${shown} is ${id.length} characters; the limit is ${MAX_EXPERIMENT_ID_LENGTH}.`,
    );
  }
  if (isAbsolute(id) || id.includes('/') || id.includes('\\')) {
    throw new ConfigError(`Experiment id ${shown} contains a path separator or is an absolute path.`, {
      fix: 'Use only letters, digits, ".", "_" and "-".',
    });
  }
  if (id.includes('..')) throw new ConfigError(`Experiment id ${shown} contains "..".`);
  if (!SAFE_ID.test(id)) {
    throw new ConfigError(
      `Experiment id ${shown} has characters outside [A-Za-z0-9._-] or starts with "." "_" "-".`,
      {
        fix: 'Use only letters, digits, ".", "_" and "-", starting with a letter or digit.',
      },
    );
  }
  return id;
}

/** Turns free text (a model id, a study name) into a safe id fragment. Lossy: for display names only. */
export function slugify(text: string, maxLength = 48): string {
  const slug = text
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[._-]+|[._-]+$/g, '')
    .slice(0, maxLength)
    .replace(/[._-]+$/g, '');
  return slug.length > 0 ? slug : 'x';
}

/** realpath of the deepest existing ancestor, with the missing tail appended. */
function realpathLenient(path: string): string {
  const absolute = resolve(path);
  if (existsSync(absolute)) return realpathSync(absolute);
  const parent = dirname(absolute);
  if (parent === absolute) return absolute;
  return join(realpathLenient(parent), basename(absolute));
}

/**
 * True when `target`, with every symlink resolved, lies inside `base` (or is `base`).
 * Component-wise: `/a/bc` is not inside `/a/b`.
 */
export function isSafePath(base: string, target: string): boolean {
  if (base.includes('\0') || target.includes('\0')) return false;
  try {
    const realBase = realpathLenient(base);
    const realTarget = realpathLenient(resolve(base, target));
    const rel = relative(realBase, realTarget);
    return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
  } catch {
    return false;
  }
}

/** Joins `name` under `base` and proves the result stays inside; throws ConfigError otherwise. */
export function resolveInside(base: string, name: string): string {
  const target = resolve(base, name);
  if (!isSafePath(base, target)) {
    throw new ConfigError(`Path ${JSON.stringify(name)} escapes the directory ${base}.`, {
      fix: 'Use a plain name without "..", absolute paths or symlinks that point outside.',
    });
  }
  return target;
}
