#!/usr/bin/env node
// The echo workload: speaks llem's workload protocol (version 1) without importing llem.
// argv: <config.json> <out-dir>. For each request it optionally runs a command, "generates"
// a fixed number of tokens, and finally writes workload-result.json atomically.
import { spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';

const [configPath, outDir] = process.argv.slice(2);
const { config, experiment_id: experimentId } = JSON.parse(readFileSync(configPath, 'utf8'));
// With LLEM_ECHO_JOURNAL set, one line per window edge: `<edge> <experiment id> <attempt> <epoch ms>`
// (the attempt is the work dir's `attempt-N`). Fault tests use it to see which windows ran when.
const journal = process.env.LLEM_ECHO_JOURNAL;
const attempt = /^attempt-(\d+)$/.exec(basename(outDir))?.[1] ?? '?';
const note = (edge) => {
  if (journal) appendFileSync(journal, `${edge} ${experimentId} ${attempt} ${Date.now()}\n`);
};
const echo = config.echo;
const mono = () => process.hrtime.bigint();
// `at` lets the window events carry exactly the timestamps the result reports.
const emit = (event, fields = {}, at = mono()) =>
  process.stdout.write(`@@llem ${JSON.stringify({ v: 1, t_mono_ns: at.toString(), event, ...fields })}\n`);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function writeAtomic(path, text) {
  const temp = `${path}.tmp-${process.pid}`;
  const fd = openSync(temp, 'w', 0o644);
  writeSync(fd, text);
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temp, path);
}

function fail(message) {
  emit('error', { message, kind: 'echo' });
  writeAtomic(join(outDir, 'error.json'), JSON.stringify({ message, kind: 'echo' }));
  process.exit(3);
}

const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null;
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null;
  return {
    count: sorted.length,
    mean,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    min: sorted[0] ?? null,
    max: sorted.at(-1) ?? null,
  };
};

emit('loaded', { load_seconds: 0 });
if (echo.fail_at === 'load') fail(echo.fail_message);
emit('warmup-done', { prompts: 0 });
const startNs = mono();
const startUtc = new Date().toISOString();
note('window-start');
emit('window-start', {}, startNs);
const e2e = [];
for (let i = 0; i < config.n; i++) {
  const t0 = mono();
  if (echo.command.length > 0) {
    const run = spawnSync(echo.command[0], echo.command.slice(1), { stdio: 'inherit' });
    if (run.status !== 0) fail(`command ${echo.command[0]} exited with ${run.status ?? run.signal}`);
  }
  if (echo.seconds_per_request > 0) sleep(echo.seconds_per_request * 1000);
  e2e.push(Number(mono() - t0) / 1e6);
  emit('progress', { done: i + 1, total: config.n });
}
if (echo.fail_at === 'window') fail(echo.fail_message);
const endNs = mono();
note('window-end');
emit('window-end', {}, endNs);
const duration = Number(endNs - startNs) / 1e9;
const output = config.n * echo.output_tokens_per_request;
const input = config.n * echo.input_tokens_per_request;
const perSecond = (count) => (duration > 0 ? count / duration : 0);
const result = {
  workload_schema_version: 1,
  backend: 'echo',
  backend_version: '0.1.0',
  model: config.model,
  window: {
    start_mono_ns: startNs.toString(),
    end_mono_ns: endNs.toString(),
    start_utc: startUtc,
    end_utc: new Date().toISOString(),
    duration_s: duration,
  },
  requests: config.n,
  batches: config.n,
  tokens: { input, output, total: input + output },
  throughput: {
    output_tokens_per_s: perSecond(output),
    total_tokens_per_s: perSecond(input + output),
    requests_per_s: perSecond(config.n),
  },
  latency: {
    ttft_ms: stats(e2e),
    itl_ms: stats([]),
    tpot_ms: stats([]),
    e2e_ms: stats(e2e),
    method: 'echo: whole request timed, tokens synthetic',
  },
  warmup: null,
  memory: null,
  flops: null,
  environment: { node: process.version, platform: process.platform },
  energy_cross_check: null,
  warnings: ['synthetic token counts (echo backend)'],
};
const resultPath = join(outDir, 'workload-result.json');
writeAtomic(resultPath, JSON.stringify(result, null, 2));
emit('result', { path: resultPath });
