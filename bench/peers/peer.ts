/**
 * The peer client of `pnpm bench loadgen`: AIPerf 0.13 (NVIDIA's serving benchmark, PyPI), run as
 * its own CLI against the same scripted server. Installed by setup-aiperf.sh into
 * ~/.cache/llem/bench-venvs/aiperf.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quantileOfSorted } from '@llem/loadgen';

export interface LevelFigures {
  ttftAddedP50: number;
  ttftAddedP99: number;
}
export interface RateFigures {
  rate: number;
  p50ErrMs: number;
  p99ErrMs: number;
  maxErrMs: number;
  ok: boolean;
}
export interface Script {
  firstTokenMs: number;
  perTokenMs: number;
  tokens: number;
}
export interface Arrival {
  count: number;
  receivedEpochMs: number;
  status: number;
}

export interface PeerClient {
  name: string;
  closed(o: {
    baseUrl: string;
    concurrency: number;
    requests: number;
    script: Script;
  }): Promise<LevelFigures>;
  /** Constant-rate arrivals: returns the arrival errors measured at the server. */
  rate(baseUrl: string, rate: number, seconds: number, script: Script): Promise<RateFigures>;
}

const here = fileURLToPath(new URL('.', import.meta.url));

/** The q-quantile of a sample (loadgen's interpolation); NaN when it is empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  return quantileOfSorted(
    [...values].sort((a, b) => a - b),
    q,
  );
}

/**
 * How far each arrival at the server is from its plan (ms): arrival − plan, less the smallest such
 * difference of the run. That smallest one is the fixed part (the clocks' offset and the network
 * path), so neither a late first request nor the wire is counted as schedule error, for any client.
 */
export function scheduleErrors(got: readonly Arrival[], planMs: readonly number[]): number[] {
  const diffs = got.map((a, i) => a.receivedEpochMs - (planMs[i] as number));
  const base = Math.min(...diffs);
  return diffs.map((d) => d - base);
}

/**
 * One rate's figures from its arrivals at the server: the schedule error's p50, p99 and max, and
 * `ok` when every request arrived and succeeded (`allOk`) with the p99 within 1 ms of schedule.
 */
export function rateFigures(
  rate: number,
  got: readonly Arrival[],
  planMs: readonly number[],
  allOk: boolean,
): RateFigures {
  const errs = scheduleErrors(got, planMs);
  const p99 = quantile(errs, 0.99);
  return {
    rate,
    p50ErrMs: quantile(errs, 0.5),
    p99ErrMs: p99,
    maxErrMs: Math.max(...errs),
    ok: allOk && p99 <= 1,
  };
}

export async function arrivals(baseUrl: string): Promise<Arrival[]> {
  return (await (await fetch(`${baseUrl}/scripted/requests`)).json()) as Arrival[];
}

function run(argv: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    // HF_HUB_OFFLINE must be unset: AIPerf 0.13 resolves a local tokenizer path as a hub snapshot then.
    const { HF_HUB_OFFLINE: _a, TRANSFORMERS_OFFLINE: _b, ...env } = process.env;
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out }));
  });
}

/** AIPerf in `venvs`, installing it first (setup-aiperf.sh) when missing; a string says why not. */
export function findPeer(venvs: string): PeerClient | string {
  const bin = join(venvs, 'aiperf/bin/aiperf');
  const tokenizer = join(venvs, 'byte-tokenizer');
  if (!existsSync(bin) || !existsSync(join(tokenizer, 'tokenizer.json'))) {
    process.stderr.write('bench loadgen: installing AIPerf 0.13.0 (bench/peers/setup-aiperf.sh)…\n');
    const r = spawnSync('bash', [join(here, 'setup-aiperf.sh')], {
      stdio: 'inherit',
      env: { ...process.env, LLEM_BENCH_VENVS: venvs },
    });
    if (r.status !== 0)
      return `bench/peers/setup-aiperf.sh failed (exit ${r.status}): AIPerf 0.13.0 did not install`;
  }
  const profile = async (baseUrl: string, args: string[], script: Script) => {
    const dir = mkdtempSync(join(tmpdir(), 'llem-aiperf-'));
    try {
      const { code, out } = await run([
        bin,
        'profile',
        '--model',
        'scripted',
        '--url',
        baseUrl,
        '--endpoint-type',
        'completions',
        '--streaming',
        '--tokenizer',
        tokenizer,
        '--use-server-token-count',
        '--synthetic-input-tokens-mean',
        '10',
        '--synthetic-input-tokens-stddev',
        '0',
        '--output-tokens-mean',
        String(script.tokens),
        '--output-tokens-stddev',
        '0',
        '--artifact-dir',
        dir,
        '--ui-type',
        'none',
        '--no-server-metrics',
        ...args,
      ]);
      const file = join(dir, 'profile_export.jsonl');
      if (code !== 0 || !existsSync(file)) {
        throw new Error(`aiperf exited ${code}: ${out.split('\n').filter(Boolean).slice(-3).join(' | ')}`);
      }
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(
          (l) =>
            JSON.parse(l) as {
              metadata: { benchmark_phase?: string };
              metrics: { time_to_first_token?: { value: number } };
              error?: unknown;
            },
        );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  return {
    name: 'AIPerf 0.13.0',
    async closed({ baseUrl, concurrency, requests, script }) {
      const records = await profile(
        baseUrl,
        [
          '--concurrency',
          String(concurrency),
          '--request-count',
          String(requests),
          '--warmup-request-count',
          String(concurrency * 2),
        ],
        script,
      );
      const added = records
        .filter((r) => r.metadata.benchmark_phase !== 'warmup' && r.metrics.time_to_first_token)
        .map((r) => (r.metrics.time_to_first_token as { value: number }).value - script.firstTokenMs);
      if (added.length < requests * 0.9)
        throw new Error(`only ${added.length} of ${requests} requests had a TTFT`);
      return { ttftAddedP50: quantile(added, 0.5), ttftAddedP99: quantile(added, 0.99) };
    },
    async rate(baseUrl, rate, seconds, script) {
      const before = (await arrivals(baseUrl)).length;
      const n = rate * seconds;
      await profile(
        baseUrl,
        [
          '--request-rate',
          String(rate),
          '--arrival-pattern',
          'constant',
          '--request-count',
          String(n),
          '--warmup-request-count',
          '20',
        ],
        script,
      );
      const got = (await arrivals(baseUrl)).slice(before).slice(-n); // the profiling phase, after the warm-up
      const plan = Array.from({ length: n }, (_, i) => (i * 1000) / rate);
      return rateFigures(rate, got, plan, got.length === n && got.every((a) => a.status === 200));
    },
  };
}
