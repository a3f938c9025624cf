import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs the built `llem` in a sandbox: its own HOME, XDG dirs, state and results under one unique
 * temp dir (so /proc can tell which processes belong to a test). The working directory is this
 * package, whose node_modules holds `llem-backend-echo`: `backend: echo` resolves by name.
 */

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const packageRoot = fileURLToPath(new URL('../', import.meta.url));
export const binPath = join(repoRoot, 'packages/cli/dist/bin.js');

export interface Sandbox {
  dir: string;
  env: NodeJS.ProcessEnv;
  stateDir: string;
  resultsDir: string;
  write(name: string, text: string | Buffer): string;
  remove(): void;
}

export function sandbox(store: 'fs' | 'sqlite' = 'fs'): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'llem-rel-'));
  const home = join(dir, 'home');
  mkdirSync(home);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, '.local/state'),
    XDG_CACHE_HOME: join(home, '.cache'),
    LLEM_STATE_DIR: join(dir, 'state'),
    LLEM_RESULTS_DIR: join(dir, 'results'),
    LLEM_STORE: store,
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
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A study of `count` echo experiments (one sweep value each) that takes about `seconds` per experiment. */
export function echoStudy(name: string, count: number, secondsPerRequest = 0.02, n = 2, cycles = 1): string {
  return `name: ${name}
model: echo-model
backend: echo
runner: local
n: ${n}
baseline: { enabled: false }
energy: { enabled: false }
echo: { seconds_per_request: ${secondsPerRequest} }
sweep:
  echo.output_tokens_per_request: [${Array.from({ length: count }, (_, i) => i + 1).join(', ')}]
cycles: ${cycles}
`;
}

export interface LlemResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startLlem(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [binPath, ...args], {
    env,
    cwd: packageRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

export function llem(args: readonly string[], env: NodeJS.ProcessEnv): Promise<LlemResult> {
  return finished(startLlem(args, env));
}

/** Parsed JSON lines of a `--json` output. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export interface RunSummary {
  exitCode: number;
  interrupted: boolean;
  counts: Record<string, number>;
  runs: {
    experimentId: string;
    status: string;
    attempt: number | null;
    resultPath: string | null;
    error: string | null;
  }[];
}

export function summaryOf(stdout: string): RunSummary {
  const summary = jsonLines(stdout).find((r) => r.type === 'summary');
  if (!summary) throw new Error(`no summary line in:\n${stdout.slice(-2000)}`);
  return summary as unknown as RunSummary;
}

export interface StateRecord {
  experimentId: string;
  phase: string;
  failed: boolean;
  failureKind: string | null;
  errorMessage: string | null;
  attempt: number;
  studyId: string | null;
  cycle: number | null;
}

export async function statusOf(
  env: NodeJS.ProcessEnv,
): Promise<{ experiments: StateRecord[]; corrupt: string[] }> {
  const r = await llem(['status', '--json'], env);
  if (r.code !== 0) throw new Error(`llem status failed (${r.code}): ${r.stdout} ${r.stderr}`);
  return jsonLines(r.stdout)[0] as unknown as { experiments: StateRecord[]; corrupt: string[] };
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

/** Polls until no process mentions `needle` or `ms` pass; returns the survivors. */
export async function survivors(needle: string, ms = 5000): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = processesMentioning(needle);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every file (relative path) under a directory, or [] when it does not exist. */
export function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
  } catch {
    return [];
  }
}

/** Resolves when the child prints a JSON line matching `match`; rejects if it exits first. */
export function waitForLine(
  child: ChildProcess,
  match: (record: Record<string, unknown>) => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let seen = '';
    child.stderr!.on('data', (chunk: Buffer | string) => {
      seen += chunk.toString();
    });
    child.stdout!.on('data', (chunk: Buffer | string) => {
      buffer += chunk.toString();
      seen += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        try {
          if (match(JSON.parse(line))) resolve();
        } catch {
          // not a JSON line
        }
      }
    });
    child.on('close', (code) =>
      reject(new Error(`llem exited (${code}) before the awaited line:\n${seen.slice(-2000)}`)),
    );
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
