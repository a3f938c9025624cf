import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Helpers that run the built `llem` binary in a sandbox: its own HOME, XDG dirs, state and results. */

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const binPath = join(repoRoot, 'packages/cli/dist/bin.js');

export interface Sandbox {
  dir: string;
  env: NodeJS.ProcessEnv;
  stateDir: string;
  resultsDir: string;
  write(name: string, text: string): string;
}

export function sandbox(python?: string): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'llem-cli-'));
  const home = join(dir, 'home');
  mkdirSync(home);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, '.local/state'),
    // The harness venv lives in the real cache: it is provisioned once per machine.
    XDG_CACHE_HOME: process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? home, '.cache'),
    LLEM_STATE_DIR: join(dir, 'state'),
    LLEM_RESULTS_DIR: join(dir, 'results'),
    HF_HUB_OFFLINE: '1',
    LLEM_OFFLINE: '1',
    ...(python ? { LLEM_PYTHON: python } : {}),
  };
  return {
    dir,
    env,
    stateDir: join(dir, 'state'),
    resultsDir: join(dir, 'results'),
    write(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
  };
}

export interface LlemResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startLlem(args: readonly string[], env: NodeJS.ProcessEnv, cwd = repoRoot): ChildProcess {
  return spawn(process.execPath, [binPath, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function finished(child: ChildProcess): Promise<LlemResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function llem(args: readonly string[], env: NodeJS.ProcessEnv, cwd = repoRoot): Promise<LlemResult> {
  return finished(startLlem(args, env, cwd));
}

/** Parsed JSON lines of a `--json` output. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Pids of live (non-zombie) processes whose command line mentions `needle`. */
export function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (!cmdline.includes(needle)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z') found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** Every file (relative path) under a directory, or [] when it does not exist. */
export function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return [];
  }
}
