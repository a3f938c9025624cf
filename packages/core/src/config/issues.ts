import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { longestList } from './bounds.js';
import { didYouMean } from './suggest.js';

export type ConfigPath = readonly (string | number)[];

/** `decoder.temperature`, `experiments[2].model` */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out === '' ? '(root)' : out;
}

/** Keys an object schema accepts at `path`, found by walking the schema (for did-you-mean). */
export function knownKeysAt(schema: z.ZodType, path: ConfigPath): string[] {
  let current: z.ZodType | undefined = schema;
  for (const part of [...path, null]) {
    current = unwrap(current);
    if (!current) return [];
    if (part === null) break;
    if (current instanceof z.ZodObject) current = (current.shape as Record<string, z.ZodType>)[String(part)];
    else if (current instanceof z.ZodArray) current = current.element as z.ZodType;
    else if (current instanceof z.ZodRecord) current = current.valueType as z.ZodType;
    else return [];
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  for (let depth = 0; current && depth < 20; depth++) {
    const def = (current as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (def.type === 'pipe') current = def.out as z.ZodType;
    else if ('innerType' in def) current = def.innerType as z.ZodType;
    else return current;
  }
  return current;
}

export interface ConfigIssue {
  path: ConfigPath;
  message: string;
}

/** One line per zod issue, with the field path and a did-you-mean for unknown keys. */
export function describeZodIssues(
  error: z.ZodError,
  schema: z.ZodType,
  prefix: ConfigPath = [],
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...(issue.path as (string | number)[])];
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path as (string | number)[]);
      for (const key of issue.keys) {
        const hint = didYouMean(key, known);
        issues.push({
          path: [...path, key],
          message: `unknown field '${key}'${hint ? ` (did you mean '${hint}'?)` : known.length ? ` (allowed: ${known.join(', ')})` : ''}`,
        });
      }
    } else {
      issues.push({ path, message: humanMessage(issue) });
    }
  }
  return issues;
}

function humanMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    const received = (issue as { input?: unknown }).input;
    if (received === undefined) return `required field is missing (expected ${issue.expected})`;
    return `expected ${issue.expected}, got ${describeValue(received)}`;
  }
  if (issue.code === 'invalid_value') {
    return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return issue.message;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${String(value)}`;
}

/** Problems one ConfigError lists, one per line: enough to act on; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 100;

/** The lines of a ConfigError's message: the first MAX_LISTED_PROBLEMS, then how many more. */
export function joinProblems(lines: readonly string[]): string {
  if (lines.length <= MAX_LISTED_PROBLEMS) return lines.join('\n');
  const more = lines.length - MAX_LISTED_PROBLEMS;
  return `${lines.slice(0, MAX_LISTED_PROBLEMS).join('\n')}\n… and ${more} more problem${more === 1 ? '' : 's'} like these`;
}

/** Builds the ConfigError for a list of issues, naming the file. The first line says it all. */
export function configErrorFrom(issues: readonly ConfigIssue[], source?: string): ConfigError {
  const where = source ? `${source}: ` : '';
  const lines = issues.map((issue) => `${where}${formatPath(issue.path)}: ${issue.message}`);
  const fix =
    'Fix the field(s) named above; `llem config schema` prints every field with its type and default.';
  const problems = issues
    .slice(0, MAX_LISTED_PROBLEMS)
    .map((issue) => ({ file: source ?? null, path: formatPath(issue.path), message: issue.message }));
  return new ConfigError(joinProblems(lines), { fix, problems });
}

export type Validated<T> = { ok: true; data: T } | { ok: false; issues: ConfigIssue[] };

/**
 * `schema.safeParse(value)` as ConfigIssues under `prefix`. zod spreads a property's issues into
 * one `push` call, so a list of a few hundred thousand bad items overflows the stack inside zod:
 * that becomes one issue naming the longest list, not a crash.
 */
export function validateWith<T>(
  schema: z.ZodType<T>,
  value: unknown,
  prefix: ConfigPath = [],
  params: { reportInput?: boolean } = {},
): Validated<T> {
  let result: ReturnType<z.ZodType<T>['safeParse']>;
  try {
    result = schema.safeParse(value, params);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    const list = longestList(value);
    return {
      ok: false,
      issues: [
        {
          path: [...prefix, ...(list?.path ?? [])],
          message: list
            ? `a list of ${list.length} items with too many problems to report one by one; check its items`
            : 'too many problems to report one by one',
        },
      ],
    };
  }
  return result.success
    ? { ok: true, data: result.data }
    : { ok: false, issues: describeZodIssues(result.error, schema, prefix) };
}
