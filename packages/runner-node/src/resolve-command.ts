import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { RunnerError } from '@llem/core';

/**
 * Finds the executable for `command` the way execvp would (PATH from the workload's own env), so
 * a missing or non-executable program is a clear RunnerError before anything starts, instead
 * of an exit status 127 from the shell that hosts the watchdog.
 */
export function resolveExecutable(
  command: string,
  env: Readonly<Record<string, string>>,
  cwd: string,
): string {
  if (command.length === 0) throw new RunnerError('Cannot run an empty command name.');
  if (command.includes('/')) {
    const path = isAbsolute(command) ? command : resolve(cwd, command);
    const problem = executableProblem(path);
    if (problem) throw spawnError(command, problem);
    return path;
  }
  const searchPath = env.PATH ?? '';
  let firstProblem: string | null = null;
  for (const dir of searchPath.split(delimiter)) {
    const candidate = join(dir === '' ? cwd : resolve(cwd, dir), command);
    const problem = executableProblem(candidate);
    if (problem === null) return candidate;
    if (!problem.startsWith('not found')) firstProblem ??= `${candidate}: ${problem}`;
  }
  throw spawnError(
    command,
    firstProblem ?? `not found on the workload's PATH (${searchPath || 'PATH is empty'})`,
    {
      fix: `Install '${command}' or put its directory on the PATH given to the workload.`,
    },
  );
}

/** Checks the working directory exists and is a directory. */
export function checkWorkingDirectory(cwd: string, command: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(cwd).isDirectory();
  } catch (error) {
    throw spawnError(
      command,
      `working directory ${cwd} does not exist (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  if (!isDir) throw spawnError(command, `working directory ${cwd} is not a directory`);
}

function executableProblem(path: string): string | null {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'EACCES' ? 'permission denied' : 'not found';
  }
  if (stats.isDirectory()) return 'is a directory';
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return 'permission denied (not executable)';
  }
  return null;
}

function spawnError(command: string, cause: string, options: { fix?: string } = {}): RunnerError {
  return new RunnerError(`Cannot start '${command}': ${cause}.`, {
    fix: options.fix ?? 'Check the command, its permissions and the working directory.',
  });
}
