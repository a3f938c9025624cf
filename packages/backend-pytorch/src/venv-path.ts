import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HARNESS_DIR } from './package-info.js';

/**
 * Where harness/provision.sh puts the venv's python, computed without running it (doctor must not
 * install anything). Mirrors the script: key = sha256(requirements.txt + requirements-test.txt)[:12].
 */
export function provisionedPythonPath(env: NodeJS.ProcessEnv = process.env): string {
  const requirements = ['requirements.txt', 'requirements-test.txt'].map((name) =>
    readFileSync(join(HARNESS_DIR, name)),
  );
  const key = createHash('sha256').update(Buffer.concat(requirements)).digest('hex').slice(0, 12);
  const base =
    env.LLEM_VENV_DIR || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'llem', 'venvs');
  return join(base, `pytorch-${key}`, 'bin', 'python');
}
