import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createSandbox,
  filesUnder,
  jsonLines,
  type LlemResult,
  llem as llemIn,
  processesMentioning,
  type Sandbox,
  startLlem as startLlemIn,
} from '@llem/test-kit';

/**
 * Runs the built `llem` in a sandbox (see @llem/test-kit). The working directory is this
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
} from '@llem/test-kit';

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
launch: local
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

/**
 * "Measured once" bookkeeping for crash tests. The echo workload journals every window edge
 * (LLEM_ECHO_JOURNAL); after every kill the test snapshots the result files it can see. At the end
 * every experiment-cycle's result must be the first one ever seen for it (same attempt, same
 * bytes), and no window of that experiment-cycle may have started in a later attempt.
 */
export class MeasuredOnce {
  readonly journal: string;
  /** result dir (relative) -> first seen { attempt, text } */
  private readonly firstSeen = new Map<string, { attempt: number; text: string; experimentId: string }>();

  constructor(private readonly box: Sandbox) {
    this.journal = join(box.dir, 'windows.log');
    box.env.LLEM_ECHO_JOURNAL = this.journal;
  }

  /** Records every committed result.json now on disk (call after each kill). */
  snapshot(): void {
    for (const file of filesUnder(this.box.resultsDir)) {
      if (!/(^|\/)result\.json$/.test(file) || file.split('/').some((part) => part.startsWith('.'))) continue;
      if (this.firstSeen.has(file)) continue;
      let text: string;
      try {
        text = readFileSync(join(this.box.resultsDir, file), 'utf8');
      } catch {
        continue;
      }
      const result = JSON.parse(text) as { attempt: number; experiment_id: string };
      this.firstSeen.set(file, { attempt: result.attempt, text, experimentId: result.experiment_id });
    }
  }

  /** Window starts per experiment id and attempt, from the journal. */
  windows(): Map<string, number[]> {
    const starts = new Map<string, number[]>();
    let text = '';
    try {
      text = readFileSync(this.journal, 'utf8');
    } catch {
      return starts;
    }
    for (const line of text.split('\n')) {
      const [edge, id, attempt] = line.split(' ');
      if (edge !== 'window-start' || !id) continue;
      starts.set(id, [...(starts.get(id) ?? []), Number(attempt)]);
    }
    return starts;
  }

  /** Problems found (empty when every experiment-cycle was measured once and never replaced). */
  violations(): string[] {
    this.snapshot();
    const problems: string[] = [];
    const windows = this.windows();
    for (const [file, first] of this.firstSeen) {
      let now = '';
      try {
        now = readFileSync(join(this.box.resultsDir, file), 'utf8');
      } catch {
        problems.push(`${file}: result seen with attempt ${first.attempt} is gone`);
        continue;
      }
      if (now !== first.text) problems.push(`${file}: result of attempt ${first.attempt} was replaced`);
      const later = (windows.get(first.experimentId) ?? []).filter((attempt) => attempt > first.attempt);
      if (later.length > 0)
        problems.push(
          `${first.experimentId}: window(s) of attempt(s) ${later.join(', ')} ran after attempt ${first.attempt} committed its result`,
        );
      const own = (windows.get(first.experimentId) ?? []).filter((attempt) => attempt === first.attempt);
      if (own.length !== 1)
        problems.push(`${first.experimentId}: attempt ${first.attempt} ran ${own.length} windows`);
    }
    const aside = filesUnder(this.box.resultsDir).filter((f) => f.split('/').includes('.llem-aside'));
    if (aside.length > 0) problems.push(`results set aside: ${aside.join(', ')}`);
    return problems;
  }

  /** How many result files have been seen so far. */
  get seen(): number {
    return this.firstSeen.size;
  }
}

/**
 * Runs the study until nothing is busy (the last killed llem's workload may still be ending:
 * its watchdog stops it within moments), at most `ms`. Returns the last result.
 */
export async function runToCompletion(
  study: string,
  env: NodeJS.ProcessEnv,
  ms = 10_000,
): Promise<LlemResult> {
  let final = await llem(['run', study, '--json'], env);
  const deadline = Date.now() + ms;
  while (final.code === 1 && summaryOf(final.stdout).counts.busy! > 0 && Date.now() < deadline) {
    await sleep(500);
    final = await llem(['run', study, '--json'], env);
  }
  return final;
}
