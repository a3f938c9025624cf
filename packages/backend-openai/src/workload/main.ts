#!/usr/bin/env node
/**
 * The openai backend's workload: started by the runner as `node main.js <input.json> <work dir>`.
 * It starts the server (or takes the endpoint), waits until it is ready, puts it under load with
 * @llem/loadgen, reports the steady-state window with llem's protocol events (window-start /
 * window-end; the whole run's window is in serving-run.json), writes the request records and
 * workload-result.json, and stops the server. It speaks protocol version 1 without importing core.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type LoadRun, runLoad, summarizeRequests } from '@llem/loadgen';
import {
  ERROR_FILE,
  RECORDS_FILE,
  RUN_FILE,
  SERVER_LOG_FILE,
  type ServingRun,
  WORKLOAD_RESULT_FILE,
  type WorkloadInput,
} from '../run-files.js';
import { isServerFailure, ManagedServer } from './server.js';
import { countInWindow, latencyStats } from './summary.js';

const [inputPath, outDir] = process.argv.slice(2);
if (!inputPath || !outDir) {
  process.stderr.write('usage: main.js <openai-workload.json> <work dir>\n');
  process.exit(2);
}
const input = JSON.parse(readFileSync(inputPath, 'utf8')) as WorkloadInput;

const mono = () => process.hrtime.bigint();
const emit = (event: string, fields: Record<string, unknown> = {}, at: bigint = mono()) =>
  process.stdout.write(`@@llem ${JSON.stringify({ v: 1, t_mono_ns: at.toString(), event, ...fields })}\n`);

function writeAtomic(path: string, text: string): void {
  const temp = `${path}.tmp-${process.pid}`;
  const fd = openSync(temp, 'w', 0o600);
  writeSync(fd, text);
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temp, path);
}

/** KEY=VALUE lines of the secrets file (the API key); the values never reach argv, logs or results. */
function readSecrets(path: string | null): Record<string, string> {
  if (!path) return {};
  const entries: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) entries[line.slice(0, at)] = line.slice(at + 1);
  }
  return entries;
}

let server: ManagedServer | null = null;

async function fail(message: string, kind: string): Promise<never> {
  await server?.stop().catch(() => undefined);
  writeAtomic(join(outDir!, ERROR_FILE), JSON.stringify({ message, kind }));
  emit('error', { message, kind });
  process.exit(3);
}

async function main(): Promise<void> {
  const secrets = readSecrets(input.secretsFile);
  const apiKey = input.apiKeyEnv ? secrets[input.apiKeyEnv] : undefined;
  const headers: Record<string, string> = apiKey ? { Authorization: `Bearer ${apiKey}` } : {};
  const loadStart = mono();
  let baseUrl: string;
  if (input.server) {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
    Object.assign(env, secrets);
    server = await ManagedServer.start(input.server, join(outDir!, SERVER_LOG_FILE), env);
    process.stderr.write(`openai: started the server (pid ${server.pid}) at ${server.baseUrl}\n`);
    await server.waitReady(headers);
    baseUrl = server.baseUrl;
  } else {
    baseUrl = input.endpoint!.replace(/\/+$/, '').replace(/\/v1$/, '');
  }
  emit('loaded', { load_seconds: Number(mono() - loadStart) / 1e9 });

  const controller = new AbortController();
  let crashed: string | null = null;
  if (server)
    server.onUnexpectedExit = (description) => {
      crashed = `the server ${description} during the run`;
      controller.abort();
    };
  const { load } = input;
  if (load.warmupRequests > 0) {
    // One at a time, not measured: a lazy model load or compilation is not serving.
    const warmup = await runLoad({
      baseUrl,
      api: load.api,
      model: load.model,
      prompts: load.prompts,
      mode: { kind: 'closed', concurrency: 1 },
      seed: load.seed,
      requests: load.warmupRequests,
      maxTokens: load.maxTokens,
      decoding: load.decoding,
      timeoutS: load.timeoutS,
      headers,
      signal: controller.signal,
    });
    if (crashed) return fail(`${crashed} (warm-up)${server?.logTail() ?? ''}`, 'server-exited');
    const failed = warmup.records.find((r) => r.status !== 'ok');
    if (failed)
      return fail(
        `the warm-up request failed (${failed.status}${failed.error ? `: ${failed.error}` : ''}); fix the server or the request settings (openai.model, api, max_tokens)${server?.logTail() ?? ''}`,
        'warmup',
      );
  }
  emit('warmup-done', { prompts: load.warmupRequests });

  const total = load.requests ?? 0;
  let done = 0;
  // The load's t0 on the monotonic clock, exactly as runLoad takes it (its onStart hook, before any request).
  let t0Mono = mono();
  const monoAt = (ms: number) => t0Mono + BigInt(Math.round(ms * 1e6));
  let startEmitted: string | null = null;
  let endEmitted: string | null = null;
  const openWindow = (ms: number) => {
    if (startEmitted) return;
    const at = monoAt(ms);
    startEmitted = at.toString();
    emit('window-start', {}, at);
  };
  const closeWindow = (ms: number) => {
    if (!startEmitted || endEmitted) return;
    let at = monoAt(ms);
    if (at < BigInt(startEmitted)) at = BigInt(startEmitted);
    endEmitted = at.toString();
    emit('window-end', {}, at);
  };
  let run: LoadRun;
  try {
    run = await runLoad(
      {
        baseUrl,
        api: load.api,
        model: load.model,
        prompts: load.prompts,
        mode: load.mode,
        seed: load.seed,
        requests: load.requests,
        durationS: load.durationS,
        maxTokens: load.maxTokens,
        decoding: load.decoding,
        timeoutS: load.timeoutS,
        headers,
        warmupS: load.warmupS,
        signal: controller.signal,
      },
      {
        onRequest: () => {
          done += 1;
          if (total > 0) emit('progress', { done: Math.min(done, total), total });
        },
        onStart: (t0MonoNs: bigint) => {
          t0Mono = t0MonoNs;
        },
        onSteadyStart: (ms: number) => openWindow(ms),
        onSteadyEnd: (ms: number) => closeWindow(ms),
      },
    );
  } catch (error) {
    return fail(`the load generator failed: ${(error as Error).message}`, 'load');
  }
  // A server that dropped its connections may be exiting: its exit is the reason, not the errors.
  if (server && !crashed && run.records.some((r) => r.status !== 'ok')) await server.exitedWithin(1000);
  if (crashed) return fail(`${crashed}${server?.logTail() ?? ''}`, 'server-exited');

  // The headline window: the steady state when there was one, else the whole run.
  const headline = run.windows.steady && startEmitted ? 'steady' : 'whole';
  const span = headline === 'steady' ? run.windows.steady! : run.windows.whole;
  if (!startEmitted) openWindow(span.startMs);
  closeWindow(span.endMs);
  await server?.stop();
  if (server) process.stderr.write(`openai: stopped the server (${server.exitDescription()})\n`);

  const records = run.records;
  writeAtomic(
    join(outDir!, RECORDS_FILE),
    records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : ''),
  );
  const servingRun: ServingRun = {
    t0MonoNs: run.t0MonoNs,
    t0EpochMs: run.t0EpochMs,
    baseUrl,
    windows: run.windows,
    headline,
    aborted: run.aborted,
  };
  writeAtomic(join(outDir!, RUN_FILE), JSON.stringify(servingRun, null, 2));

  const summary = summarizeRequests(run);
  const failedRate = summary.errorRate;
  if (records.length === 0) return fail('no request was sent (requests or duration_s too small?)', 'load');
  if (failedRate > input.maxErrorRate) {
    const firstError = records.find((r) => r.status === 'error' || r.status === 'timeout');
    return fail(
      `${summary.errors + summary.timeouts} of ${summary.requests} requests failed (error rate ${failedRate.toFixed(3)} > max_error_rate ${input.maxErrorRate})${firstError?.error ? `; first: ${firstError.error}` : ''}. Fix the server, or raise openai.max_error_rate to accept failed requests`,
      'error-rate',
    );
  }

  // Counts and throughput over the headline window: what its energy paid for.
  const inWindow = countInWindow(records, span);
  const seconds = Math.max(0, (span.endMs - span.startMs) / 1000);
  const perSecond = (count: number) => (seconds > 0 ? count / seconds : 0);
  const startUtc = new Date(run.t0EpochMs + span.startMs).toISOString();
  const endUtc = new Date(run.t0EpochMs + span.endMs).toISOString();
  const chunksOnly = records.some((r) => r.status === 'ok' && r.tokenSource === 'chunks');
  const warnings: string[] = [];
  if (chunksOnly)
    warnings.push(
      'the server sent no usage for some requests: their output tokens are counted as streamed chunks (approximate)',
    );
  if (headline === 'whole')
    warnings.push(
      'no steady state was reached (too few requests for the concurrency?): the whole run is the window',
    );
  const result = {
    workload_schema_version: 1,
    backend: 'openai',
    backend_version: input.backendVersion,
    model: input.model,
    window: {
      start_mono_ns: startEmitted!,
      end_mono_ns: endEmitted!,
      start_utc: startUtc,
      end_utc: endUtc,
      duration_s: Number(BigInt(endEmitted!) - BigInt(startEmitted!)) / 1e9,
    },
    requests: inWindow.requests,
    batches: inWindow.requests,
    tokens: {
      input: inWindow.inputTokens,
      output: inWindow.outputTokens,
      total: inWindow.inputTokens + inWindow.outputTokens,
    },
    throughput: {
      output_tokens_per_s: perSecond(inWindow.outputTokens),
      total_tokens_per_s: perSecond(inWindow.inputTokens + inWindow.outputTokens),
      requests_per_s: perSecond(inWindow.requests),
    },
    latency: {
      ttft_ms: latencyStats(summary.ttftMs),
      itl_ms: latencyStats(summary.itlMs),
      tpot_ms: latencyStats(summary.tpotMs),
      e2e_ms: latencyStats(summary.e2eMs),
      method: `client side, streamed over SSE (${load.api === 'chat' ? '/v1/chat/completions' : '/v1/completions'}); every request of the run; token source ${chunksOnly ? 'chunks (approximate)' : 'usage'}`,
    },
    warmup: null,
    memory: null,
    flops: null,
    environment: {
      node: process.version,
      platform: process.platform,
      server: input.server ? 'started' : 'endpoint',
    },
    energy_cross_check: null,
    warnings,
  };
  const resultPath = join(outDir!, WORKLOAD_RESULT_FILE);
  writeAtomic(resultPath, JSON.stringify(result, null, 2));
  emit('result', { path: resultPath });
}

main().catch((error: unknown) => {
  if (isServerFailure(error)) return fail(error.message, error.kind);
  return fail(`the openai workload failed: ${(error as Error).message ?? String(error)}`, 'workload');
});
