import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isZombie } from '@llem/core';

/**
 * Helpers for tests that drive the built `llem` binary: build it, run it in a sandbox (its own
 * HOME, XDG dirs, state and results under one unique temp dir, so /proc can tell which processes
 * belong to a test), collect its output, find processes it left behind. Used by the CLI's own
 * tests, the reliability suite, the echo example and the Slurm executor's tests. A private
 * workspace package: it only works inside this repository.
 */

/** The repository root (this file sits in packages/test-kit/src). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** The built `llem`; LLEM_TEST_BIN points the helpers at another build of it (a copy made while others rebuild). */
export const binPath = process.env.LLEM_TEST_BIN ?? join(repoRoot, 'packages/cli/dist/bin.js');

/** Builds `llem` and the packages it uses, plus any `--filter` targets given (turbo: cached). */
export function buildLlem(extraPackages: readonly string[] = []): void {
  execFileSync(
    'pnpm',
    [
      'exec',
      'turbo',
      'run',
      'build',
      '--filter=@llem/cli...',
      ...extraPackages.map((name) => `--filter=${name}`),
      '--output-logs=errors-only',
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 600_000,
    },
  );
}

/**
 * The harness venv's python for tests that run the pytorch harness: LLEM_PYTHON when set (scripts/test.sh
 * provisions the venv and exports it), else the one harness/provision.sh makes or finds (its last line).
 */
export function harnessPython(): string {
  return (
    process.env.LLEM_PYTHON ||
    execFileSync('bash', ['packages/backend-pytorch/harness/provision.sh'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 1_800_000,
    })
      .trim()
      .split('\n')
      .pop()!
  );
}

/**
 * The quickstart made small for tests: the seeded tiny GPT-2 on the CPU, 4 prompts of 16 tokens,
 * 8 tokens out, energy estimated from a 65 W TDP. `extra` YAML lines (a launch mode, a name, a
 * sweep) are appended.
 */
export function tinyPytorchYaml(extra = ''): string {
  return `model: builtin:tiny-gpt2
backend: pytorch
precision: fp32
n: 4
dataset: { source: synthetic, input_len: 16 }
max_input_tokens: 32
max_output_tokens: 8
decoder: { preset: deterministic }
warmup: { n_warmup: 1 }
baseline: { enabled: false }
energy: { cpu_tdp_watts: 65, min_window_seconds: 0 }
${extra}`;
}

export interface Sandbox {
  dir: string;
  env: NodeJS.ProcessEnv;
  stateDir: string;
  resultsDir: string;
  write(name: string, text: string | Buffer): string;
  remove(): void;
}

/** A fresh temp dir with HOME, XDG dirs, LLEM_STATE_DIR and LLEM_RESULTS_DIR inside it. */
export function createSandbox(prefix: string, extraEnv: NodeJS.ProcessEnv = {}): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), prefix));
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
    ...extraEnv,
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

export interface LlemResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startLlem(args: readonly string[], env: NodeJS.ProcessEnv, cwd = repoRoot): ChildProcess {
  return spawn(process.execPath, [binPath, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Collects a child's output until it closes. */
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
      if (cmdline.includes(needle) && !isZombie(Number(entry))) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** Every file (relative path) under a directory, or [] when it does not exist. */
export function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
  } catch {
    return [];
  }
}
