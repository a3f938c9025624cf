import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  createSandbox,
  jsonLines,
  type LlemResult,
  llem as llemIn,
  processesMentioning,
  type Sandbox,
  startLlem as startLlemIn,
} from '@llem/cli/testing';

/**
 * Runs the built `llem` in a sandbox (see @llem/cli/testing). The working directory is this
 * package, whose node_modules holds `llem-backend-echo`: `backend: echo` resolves by name.
 */

export {
  filesUnder,
  finished,
  jsonLines,
  type LlemResult,
  processesMentioning,
  repoRoot,
  type Sandbox,
} from '@llem/cli/testing';

export const packageRoot = fileURLToPath(new URL('../', import.meta.url));

export function sandbox(store: 'fs' | 'sqlite' = 'fs'): Sandbox {
  return createSandbox('llem-rel-', { LLEM_STORE: store });
}

export function startLlem(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  return startLlemIn(args, env, packageRoot);
}

export function llem(args: readonly string[], env: NodeJS.ProcessEnv): Promise<LlemResult> {
  return llemIn(args, env, packageRoot);
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

/** Polls until no process mentions `needle` or `ms` pass; returns the survivors. */
export async function survivors(needle: string, ms = 5000): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = processesMentioning(needle);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
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
