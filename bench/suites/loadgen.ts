/**
 * `pnpm bench loadgen`: is the client what gets measured? Against the scripted SSE server (its own
 * process; 20 ms to the first token, 5 ms per token, 16 tokens), llem's load generator and a peer
 * client from PyPI (AIPerf 0.13, in its own venv under ~/.cache/llem/bench-venvs; see
 * bench/peers/README.md) at the same load:
 * - client-added TTFT = the TTFT the client measured minus the scripted 20 ms, p50 and p99, closed
 *   loop at concurrency 1, 8 and 32 (the server's own overhead is in both clients' figures alike);
 * - the highest request rate each keeps to its schedule: arrival times taken at the server
 *   (epoch ms, comparable across processes) against the planned offsets; the schedule error of
 *   a request is arrival − plan less the run's smallest such difference (the fixed offset: clocks
 *   and the wire); a rate is sustained when its p99 is within 1 ms and every request succeeds. llem plans Poisson arrivals (seeded), the peer constant ones (its schedule is then
 *   known without its seed).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { arrivalSchedule, runLoad, ttftOf } from '@llem/loadgen';
import { scriptToArgs } from '@llem/loadgen/testing';
import {
  arrivals,
  findPeer,
  type LevelFigures,
  type PeerClient,
  quantile,
  type RateFigures,
  rateFigures,
} from '../peers/peer.js';
import type { BenchRow, BenchSuite } from '../types.js';

const SCRIPT = { firstTokenMs: 20, perTokenMs: 5, tokens: 16 };
const CONCURRENCIES = [1, 8, 32];
const RATES = [10, 25, 50, 100, 200, 400, 800];
const RATE_SECONDS = 3;
const here = fileURLToPath(new URL('.', import.meta.url));
const serveTs = join(here, '../../packages/loadgen/src/testing/serve.ts');

async function startServer(): Promise<{ child: ChildProcess; baseUrl: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', serveTs, ...scriptToArgs(SCRIPT)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`scripted server exited ${code}`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  return { child, baseUrl: (JSON.parse(line) as { baseUrl: string }).baseUrl };
}

async function llemClosed(baseUrl: string, concurrency: number): Promise<LevelFigures> {
  const spec = {
    baseUrl,
    api: 'completions' as const,
    model: 'scripted',
    prompts: ['The quick brown fox jumps over the lazy dog'],
    mode: { kind: 'closed' as const, concurrency },
    seed: 1,
    maxTokens: SCRIPT.tokens,
  };
  await runLoad({ ...spec, requests: concurrency * 2 }); // warm-up: connections, JIT
  const run = await runLoad({ ...spec, requests: Math.max(100, concurrency * 30) });
  const added = run.records
    .filter((r) => r.status === 'ok')
    .map((r) => (ttftOf(r) as number) - SCRIPT.firstTokenMs);
  return { ttftAddedP50: quantile(added, 0.5), ttftAddedP99: quantile(added, 0.99) };
}

async function llemRate(baseUrl: string, rate: number): Promise<RateFigures> {
  const before = (await arrivals(baseUrl)).length;
  const n = rate * RATE_SECONDS;
  const mode = { kind: 'open' as const, requestRate: rate };
  const run = await runLoad({
    baseUrl,
    api: 'completions',
    model: 'scripted',
    prompts: ['The quick brown fox jumps over the lazy dog'],
    mode,
    seed: 7,
    requests: n,
    maxTokens: SCRIPT.tokens,
    timeoutS: 30,
  });
  const got = (await arrivals(baseUrl)).slice(before);
  const allOk = got.length === n && run.records.every((r) => r.status === 'ok');
  return rateFigures(rate, got, arrivalSchedule(mode, 7, n), allOk);
}

/** Every rate in order (both clients at the same levels, so each level compares); returns them all. */
async function sweep(measure: (rate: number) => Promise<RateFigures>): Promise<RateFigures[]> {
  const out: RateFigures[] = [];
  for (const rate of RATES) {
    const r = await measure(rate);
    out.push(r);
    process.stderr.write(
      `  rate ${rate}/s: schedule error p50 ${r.p50ErrMs.toFixed(3)} ms, p99 ${r.p99ErrMs.toFixed(3)} ms, max ${r.maxErrMs.toFixed(2)} ms, ${r.ok ? 'sustained' : 'not sustained'}\n`,
    );
  }
  return out;
}

const best = (levels: RateFigures[]) => levels.filter((l) => l.ok).reduce((m, l) => Math.max(m, l.rate), 0);

export const suite: BenchSuite = {
  name: 'loadgen',
  async run() {
    const rows: BenchRow[] = [];
    const server = await startServer();
    try {
      const peer: PeerClient | string = findPeer(join(homedir(), '.cache/llem/bench-venvs'));
      const peerName = typeof peer === 'string' ? null : peer.name;
      if (typeof peer === 'string') process.stderr.write(`bench loadgen: no peer client: ${peer}\n`);
      for (const c of CONCURRENCIES) {
        const mine = await llemClosed(server.baseUrl, c);
        let theirs: LevelFigures | null = null;
        if (typeof peer !== 'string') {
          try {
            theirs = await peer.closed({
              baseUrl: server.baseUrl,
              concurrency: c,
              requests: Math.max(100, c * 30),
              script: SCRIPT,
            });
          } catch (error) {
            process.stderr.write(
              `bench loadgen: ${peer.name} at concurrency ${c} failed: ${(error as Error).message}\n`,
            );
          }
        }
        for (const [q, key] of [
          ['p50', 'ttftAddedP50'],
          ['p99', 'ttftAddedP99'],
        ] as const) {
          rows.push({
            suite: 'loadgen',
            name: `client-added TTFT ${q}, concurrency ${c} (measured − scripted 20 ms)`,
            value: mine[key],
            unit: 'ms',
            ...(theirs ? { baseline: { name: `${peerName}`, value: theirs[key] } } : {}),
            target: 'below the peer',
            ...(theirs ? { ok: mine[key] < theirs[key] } : {}),
          });
        }
      }
      process.stderr.write('  llem open-loop rate sweep\n');
      await llemRate(server.baseUrl, 20); // warm-up (JIT, first connections), not counted
      const mySweep = await sweep((rate) => llemRate(server.baseUrl, rate));
      let peerSweep: RateFigures[] | null = null;
      if (typeof peer !== 'string') {
        process.stderr.write(`  ${peer.name} constant-rate sweep\n`);
        try {
          peerSweep = await sweep((rate) => peer.rate(server.baseUrl, rate, RATE_SECONDS, SCRIPT));
        } catch (error) {
          process.stderr.write(
            `bench loadgen: ${peer.name} rate sweep failed: ${(error as Error).message}\n`,
          );
        }
      }
      const myBest = best(mySweep);
      const peerBest = peerSweep ? best(peerSweep) : null;
      rows.push({
        suite: 'loadgen',
        name: `highest request rate with p99 schedule error <= 1 ms at the server (tried ${RATES.join(', ')}/s)`,
        value: myBest,
        unit: 'req/s',
        ...(peerBest !== null ? { baseline: { name: `${peerName}`, value: peerBest } } : {}),
        target: 'above the peer',
        ...(peerBest !== null
          ? { ok: myBest > peerBest || (myBest === peerBest && myBest === RATES.at(-1)) }
          : {}),
      });
      for (const l of mySweep) {
        const theirs = peerSweep?.find((p) => p.rate === l.rate);
        for (const [q, key] of [
          ['p50', 'p50ErrMs'],
          ['p99', 'p99ErrMs'],
        ] as const) {
          rows.push({
            suite: 'loadgen',
            name: `schedule error ${q} at ${l.rate} req/s (llem Poisson max ${l.maxErrMs.toFixed(1)} ms${theirs ? `, peer constant max ${theirs.maxErrMs.toFixed(1)} ms` : ''})`,
            value: l[key],
            unit: 'ms',
            ...(theirs ? { baseline: { name: `${peerName}`, value: theirs[key] } } : {}),
            target: q === 'p99' ? '<= 1 ms' : 'below the peer',
            ok: q === 'p99' ? l.ok : theirs ? l[key] < theirs[key] : undefined,
          });
        }
      }
    } finally {
      server.child.kill('SIGTERM');
    }
    return rows;
  },
};
