// A tiny workload speaking llem's protocol (v1), run as a real process by the orchestration tests.
// argv: <launch.json> <out-dir>. Behaviour comes from the `script:` config section.
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [launchPath, outDir] = process.argv.slice(2);
const { config, experimentId } = JSON.parse(readFileSync(launchPath, 'utf8'));
const s = config.script;
const mono = () => process.hrtime.bigint();
const emit = (event, fields = {}) =>
  process.stdout.write(
    `@@llem ${JSON.stringify({ v: 1, t_mono_ns: mono().toString(), event, ...fields })}\n`,
  );
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const fail = (message) => {
  emit('error', { message });
  process.exit(3);
};

emit('loaded', { load_seconds: 0 });
if (s.mode === 'fail') fail(s.message);
if (s.mode === 'fail-once' && !existsSync(process.env.FAIL_ONCE_MARKER)) {
  writeFileSync(process.env.FAIL_ONCE_MARKER, '');
  fail(s.message);
}
if (s.mode === 'crash') {
  process.stderr.write('simulated crash: out of memory\n');
  process.exit(137);
}
emit('warmup-done', { prompts: 0 });
if (process.env.LEDGER) appendFileSync(process.env.LEDGER, `${experimentId}\n`);
const startNs = mono();
const startUtc = new Date().toISOString();
emit('window-start');
if (s.mode === 'hang') setInterval(() => {}, 1000);
else {
  for (let i = 0; i < config.n; i++) {
    if (s.sleep_ms > 0) sleep(s.sleep_ms);
    emit('progress', { done: i + 1, total: config.n });
  }
  const endNs = mono();
  emit('window-end');
  const duration = Number(endNs - startNs) / 1e9;
  const output = config.n * s.output_tokens;
  const input = config.n * 8;
  const rate = (x) => (duration > 0 ? x / duration : 0);
  const stats = { count: 0, mean: null, p50: null, p90: null, p99: null, min: null, max: null };
  const result = {
    workload_schema_version: 1,
    backend: 'script',
    backend_version: '0.0.1',
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
      output_tokens_per_s: rate(output),
      total_tokens_per_s: rate(input + output),
      requests_per_s: rate(config.n),
    },
    latency: { ttft_ms: stats, itl_ms: stats, tpot_ms: stats, e2e_ms: stats, method: 'none' },
    warmup: null,
    memory: null,
    flops: null,
    environment: { node: process.version },
    energy_cross_check: null,
    warnings: [],
  };
  writeFileSync(join(outDir, 'workload-result.json.tmp'), JSON.stringify(result));
  renameSync(join(outDir, 'workload-result.json.tmp'), join(outDir, 'workload-result.json'));
  emit('result', { path: join(outDir, 'workload-result.json') });
}
