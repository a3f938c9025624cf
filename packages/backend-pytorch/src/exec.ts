import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

export interface CommandResult {
  /** null when the command could not start or was killed by the timeout. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Why it did not run to an exit code (ENOENT, timeout). */
  failure?: string;
}

/** Runs a short command (an argv array, no shell) and captures its output; never throws. */
export function runCommand(
  argv: readonly string[],
  options: { timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<CommandResult> {
  const [file, ...args] = argv;
  return new Promise((resolve) => {
    execFile(
      file ?? '',
      args,
      { timeout: options.timeoutMs, env: options.env, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve({ code: 0, stdout, stderr });
        const err = error as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
        if (typeof err.code === 'number') return resolve({ code: err.code, stdout, stderr });
        const failure = err.killed ? `timed out after ${options.timeoutMs} ms` : (err.code ?? err.message);
        resolve({ code: null, stdout, stderr, failure: String(failure) });
      },
    );
  });
}

/** The full path of an executable: an absolute/relative path as given, else looked up on PATH. */
export function findExecutable(name: string, pathVariable = process.env.PATH ?? ''): string | null {
  const candidates =
    isAbsolute(name) || name.includes('/')
      ? [name]
      : pathVariable
          .split(delimiter)
          .filter(Boolean)
          .map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return null;
}
