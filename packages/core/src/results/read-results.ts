import { constants } from 'node:fs';
import { copyFile, link, mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { ConfigError, messageOf } from '../errors.js';
import { type ExperimentResult, ExperimentResultSchema, RESULT_SCHEMA_VERSION } from './experiment-result.js';

/**
 * Reading result.json files back. Every file found is either loaded or reported as a problem
 * (path + reason + fix): a bad file never crashes the reader and is never silently dropped.
 */

export const RESULT_FILE_NAME = 'result.json';
export const QUARANTINE_DIR = '.quarantine';
/** A result.json is a few kB to a few MB; anything far bigger is not one, and is not read into memory. */
export const MAX_RESULT_BYTES = 64 * 1024 * 1024;

export interface LoadedResult {
  /** Path of the result.json file. */
  path: string;
  /** Its directory (sidecars such as timeseries.csv live here). */
  dir: string;
  result: ExperimentResult;
}

export type ResultProblemKind =
  | 'unreadable'
  | 'too-large'
  | 'empty'
  | 'truncated'
  | 'not-json'
  | 'not-a-result'
  | 'future-version'
  | 'invalid';

export interface ResultProblem {
  path: string;
  kind: ResultProblemKind;
  /** One sentence a user can act on, naming what is wrong. */
  reason: string;
  fix: string;
  /** Where the file was moved when `quarantine` was set. */
  quarantinedTo?: string;
}

export interface ReadResultsOptions {
  /** Called once per problem, as it is found (e.g. to print a warning line). */
  onProblem?: (problem: ResultProblem) => void;
  /**
   * Move bad files (not future versions: a newer llem can read those) to `<dir>/.quarantine/`,
   * keeping their relative path in the name; an existing quarantined file is never overwritten.
   */
  quarantine?: boolean;
}

export interface ReadResultsOutcome {
  results: LoadedResult[];
  problems: ResultProblem[];
}

/** Newest-first comparison of "major.minor" versions; NaN parts compare as 0. */
function versionParts(version: string): [number, number] {
  const [major = 0, minor = 0] = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  return [major, minor];
}

function isNewerVersion(version: string): boolean {
  const [major, minor] = versionParts(version);
  const [ourMajor, ourMinor] = versionParts(RESULT_SCHEMA_VERSION);
  return major > ourMajor || (major === ourMajor && minor > ourMinor);
}

/** True when JSON text stops inside a string or with brackets still open: a file cut off mid-write. */
function endsEarly(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
  }
  return inString || depth > 0;
}

export type Classified = { result: ExperimentResult } | { problem: Omit<ResultProblem, 'path'> };

/**
 * The one reader of a result.json on disk: its result, or the one named problem with it (too
 * large, unreadable, empty, truncated, not JSON, not a result, a newer version, invalid).
 * Null when the file does not exist.
 */
export async function readResultFile(path: string): Promise<Classified | null> {
  try {
    const size = (await stat(path)).size;
    if (size > MAX_RESULT_BYTES)
      return {
        problem: {
          kind: 'too-large',
          reason: `is ${(size / 1024 / 1024).toFixed(0)} MiB; a result.json is at most ${MAX_RESULT_BYTES / 1024 / 1024} MiB`,
          fix: 'Move the file out of the results directory.',
        },
      };
    return classifyResultText(await readFile(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    return {
      problem: {
        kind: 'unreadable',
        reason: `cannot be read (${code ?? String(error)})`,
        fix: 'Check the file permissions.',
      },
    };
  }
}

/** Decides what a file's text is: a valid result or one named problem. */
export function classifyResultText(text: string): Classified {
  if (text.trim() === '') {
    return {
      problem: {
        kind: 'empty',
        reason: 'the file is empty',
        fix: 'Delete it and re-run the experiment (llem run resumes by config hash).',
      },
    };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const message = messageOf(error);
    return {
      problem: endsEarly(text)
        ? {
            kind: 'truncated',
            reason: `the JSON ends early (${message}); the file was cut off while being written`,
            fix: 'Delete it and re-run the experiment.',
          }
        : {
            kind: 'not-json',
            reason: `not valid JSON (${message})`,
            fix: 'Move the file away or re-run the experiment.',
          },
    };
  }
  const record =
    data !== null && typeof data === 'object' && !Array.isArray(data)
      ? (data as Record<string, unknown>)
      : null;
  if (!record || typeof record.schema_version !== 'string' || !('config_hash' in record)) {
    const python = record && 'measurement_config_hash' in record;
    return {
      problem: {
        kind: 'not-a-result',
        reason: python
          ? 'this is a result of the Python LLenergyMeasure (measurement_config_hash), not of llem'
          : 'not an llem result (no schema_version / config_hash)',
        fix: 'Keep files of other tools outside the llem results directory.',
      },
    };
  }
  if (record.schema_version !== RESULT_SCHEMA_VERSION && isNewerVersion(record.schema_version)) {
    return {
      problem: {
        kind: 'future-version',
        reason: `written by a newer llem (result schema ${record.schema_version}; this llem reads ${RESULT_SCHEMA_VERSION})`,
        fix: 'Upgrade llem to read it.',
      },
    };
  }
  const parsed = ExperimentResultSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const shown = issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    return {
      problem: {
        kind: 'invalid',
        reason: `does not match the result schema ${RESULT_SCHEMA_VERSION}: ${shown}${issues.length > 3 ? ` (+${issues.length - 3} more)` : ''}`,
        fix: 'Re-run the experiment, or fix the named fields if the file was edited by hand.',
      },
    };
  }
  return { result: parsed.data };
}

/** result.json files under `dir`, sorted; hidden directories (.quarantine, .git) and symlinked directories are skipped. */
async function findResultFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (current: string) => {
    const entries = await readdir(current, { withFileTypes: true });
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.')) await walk(path);
      } else if (entry.name === RESULT_FILE_NAME && (entry.isFile() || entry.isSymbolicLink()))
        found.push(path);
    }
  };
  await walk(dir);
  return found.sort();
}

/** Moves `path` into `<root>/.quarantine/` under a name that never replaces an existing file. */
async function quarantineFile(root: string, path: string): Promise<string> {
  const target = join(root, QUARANTINE_DIR);
  await mkdir(target, { recursive: true });
  const flat = relative(root, path).split(sep).join('__') || basename(path);
  for (let i = 0; ; i++) {
    const candidate = join(target, i === 0 ? flat : `${flat}.${i}`);
    try {
      // link fails with EEXIST instead of replacing, unlike rename.
      await link(path, candidate);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      try {
        await copyFile(path, candidate, constants.COPYFILE_EXCL);
      } catch (copyError) {
        if ((copyError as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw copyError;
      }
    }
    await unlink(path);
    return candidate;
  }
}

/**
 * Loads every result.json under `dirOrFile` (a results root, a study directory, an experiment
 * directory, or one result.json). Throws ConfigError only when the path itself does not exist.
 */
export async function readResults(
  dirOrFile: string,
  options: ReadResultsOptions = {},
): Promise<ReadResultsOutcome> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(dirOrFile);
  } catch {
    throw new ConfigError(`Results path ${dirOrFile} does not exist.`, {
      fix: 'Pass a results directory, a study directory or a result.json file.',
    });
  }
  const root = info.isDirectory() ? dirOrFile : dirname(dirOrFile);
  const files = info.isDirectory() ? await findResultFiles(dirOrFile) : [dirOrFile];
  const outcome: ReadResultsOutcome = { results: [], problems: [] };
  for (const path of files) {
    const classified: Classified = (await readResultFile(path)) ?? {
      problem: { kind: 'unreadable', reason: 'vanished while being read', fix: 'Run the command again.' },
    };
    if ('result' in classified) {
      outcome.results.push({ path, dir: dirname(path), result: classified.result });
      continue;
    }
    const problem: ResultProblem = { path, ...classified.problem };
    if (
      options.quarantine &&
      problem.kind !== 'future-version' &&
      problem.kind !== 'unreadable' &&
      problem.kind !== 'too-large'
    ) {
      try {
        problem.quarantinedTo = await quarantineFile(root, path);
      } catch (error) {
        problem.reason += `; could not quarantine it (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
      }
    }
    outcome.problems.push(problem);
    options.onProblem?.(problem);
  }
  return outcome;
}

/** "path: reason (fix)" lines for printing problems. */
export function formatResultProblem(problem: ResultProblem): string {
  const moved = problem.quarantinedTo ? ` Moved to ${problem.quarantinedTo}.` : '';
  return `${problem.path}: ${problem.reason}.${moved} ${problem.fix}`;
}
