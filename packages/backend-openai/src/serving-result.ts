import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BackendError,
  type CompleteResultContext,
  type EnergyMeasurement,
  headlineEnergy,
  type MeasurementWindowNs,
  type ResultAddition,
  type Serving,
  type ServingWindow,
} from '@llem/core';
import {
  itlOf,
  type MsWindow,
  percentiles,
  type RequestRecord,
  summarizeRequests,
  tpotOf,
  ttftOf,
} from '@llem/loadgen';
import { ATTRIBUTION_METHOD, attributeEnergy, intervalEdges } from './attribution.js';
import type { OpenAIConfig } from './config.js';
import { RECORDS_FILE, REQUESTS_FILE, RUN_FILE, type ServingRun } from './run-files.js';
import { countInWindow, latencyStats } from './workload/summary.js';

async function readRun(workDir: string): Promise<{ run: ServingRun; records: RequestRecord[] }> {
  try {
    const run = JSON.parse(await readFile(join(workDir, RUN_FILE), 'utf8')) as ServingRun;
    const text = await readFile(join(workDir, RECORDS_FILE), 'utf8');
    const records = text
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as RequestRecord);
    return { run, records };
  } catch (error) {
    throw new BackendError(`openai workload left no readable request records (${(error as Error).message})`);
  }
}

/**
 * result.json's `serving` block and requests.jsonl: the whole and steady windows with their
 * energy, the request summary, and each request's share of the whole window's energy.
 */
export async function servingAddition(ctx: CompleteResultContext<OpenAIConfig>): Promise<ResultAddition> {
  const { section, config } = ctx;
  const { run, records } = await readRun(ctx.workDir);
  const t0 = BigInt(run.t0MonoNs);
  const toNs = (ms: number) => t0 + BigInt(Math.round(ms * 1e6));
  const toMs = (ns: bigint) => Number(ns - t0) / 1e6;
  const nsOf = (span: MsWindow): MeasurementWindowNs => ({
    startNs: toNs(span.startMs),
    endNs: toNs(span.endMs),
  });

  const describe = (span: MsWindow, energy: EnergyMeasurement | null): ServingWindow => {
    const headline = headlineEnergy(energy);
    const durationS = Math.max(0, (span.endMs - span.startMs) / 1000);
    const counted = countInWindow(records, span);
    return {
      start_ms: span.startMs,
      end_ms: span.endMs,
      duration_s: durationS,
      energy_j: headline?.joules ?? null,
      energy_basis: headline?.basis ?? null,
      short:
        durationS < config.energy.min_window_seconds ||
        (energy?.quality.warnings.some((w) => w.code === 'short_window') ?? false),
      requests: counted.requests,
      output_tokens: counted.outputTokens,
    };
  };
  // Both windows integrated here (the same meter, baseline and checks as result.energy, which is
  // the headline window's): they are in ms since t0, the events in monotonic ns.
  const wholeEnergy = ctx.energyOver(nsOf(run.windows.whole));
  const whole = describe(run.windows.whole, wholeEnergy);
  const steadySpan = run.windows.steady;
  const steady = steadySpan ? describe(steadySpan, ctx.energyOver(nsOf(steadySpan))) : null;

  // Per-request energy over the whole window (every request lies wholly inside it).
  const wholeHeadline = headlineEnergy(wholeEnergy);
  let perRequestJ: (number | null)[] = records.map(() => null);
  let perRequest: Serving['per_request_energy'] = null;
  if (wholeHeadline) {
    const readingsMs = ctx.traces.flatMap((trace) =>
      trace.devices.flatMap((device) => device.readings.map((reading) => toMs(reading.tMonoNs))),
    );
    const edges = intervalEdges(run.windows.whole, readingsMs);
    const intervalJ = edges
      .slice(1)
      .map((end, i) => headlineEnergy(ctx.energyOver(nsOf({ startMs: edges[i]!, endMs: end })))?.joules ?? 0);
    const split = attributeEnergy(records, edges, intervalJ, wholeHeadline.joules, section.prefill_weight);
    perRequestJ = split.perRequestJ;
    const okJ = records.flatMap((r, i) => (r.status === 'ok' ? [split.perRequestJ[i]!] : []));
    const okTokens = records.reduce((sum, r) => sum + (r.status === 'ok' ? r.outputTokens : 0), 0);
    const okTotal = okJ.reduce((a, b) => a + b, 0);
    perRequest = {
      window: 'whole',
      method: ATTRIBUTION_METHOD,
      prefill_weight: section.prefill_weight,
      basis: wholeHeadline.basis,
      total_j: wholeHeadline.joules,
      j_per_request: latencyStats(percentiles(okJ)),
      j_per_output_token: okTokens > 0 ? okTotal / okTokens : null,
      idle_j: split.idleJ,
      intervals: split.intervals,
    };
  }

  const summary = summarizeRequests({
    t0EpochMs: run.t0EpochMs,
    t0MonoNs: run.t0MonoNs,
    records: records as Parameters<typeof summarizeRequests>[0]['records'],
    windows: run.windows,
    aborted: run.aborted,
  });
  const okRecords = records.filter((r) => r.status === 'ok');
  const sources = new Set(okRecords.map((r) => r.tokenSource));
  const tokenSource = sources.size > 1 ? 'mixed' : sources.has('chunks') ? 'chunks' : 'usage';

  const lines = records.map((r, i) => {
    const energyJ = perRequestJ[i] ?? null;
    return JSON.stringify({
      index: r.index,
      prompt_index: r.promptIndex,
      status: r.status,
      ...(r.error ? { error: r.error } : {}),
      scheduled_ms: r.scheduledMs,
      sent_ms: r.sentMs,
      first_token_ms: r.firstTokenMs,
      end_ms: r.endMs,
      ttft_ms: ttftOf(r as never),
      e2e_ms: r.endMs - r.sentMs,
      tpot_ms: tpotOf(r as never),
      itl_ms: itlOf(r as never),
      input_tokens: r.inputTokens,
      output_tokens: r.outputTokens,
      token_source: r.tokenSource,
      energy_j: energyJ,
      energy_per_output_token_j: energyJ !== null && r.outputTokens > 0 ? energyJ / r.outputTokens : null,
    });
  });
  await writeFile(join(ctx.resultDir, REQUESTS_FILE), lines.join('\n') + (lines.length ? '\n' : ''), {
    mode: 0o644,
  });

  const mode = section.request_rate !== undefined ? 'open' : 'closed';
  const baseUrl = run.baseUrl;
  const serving: Serving = {
    mode,
    concurrency: mode === 'closed' ? (section.concurrency ?? 1) : null,
    request_rate: section.request_rate ?? null,
    burstiness: mode === 'open' ? (section.burstiness ?? 1) : null,
    api: section.api,
    model: section.model ?? config.model,
    server: section.server
      ? {
          kind: 'started',
          attributable: true,
          note: `llem started the server (${section.server.argv[0]}) in the workload's process group and stopped it after the run: its processes are this run's`,
        }
      : {
          kind: 'endpoint',
          attributable: false,
          note: `the server at ${baseUrl} was already running: its processes are not llem's, so its energy cannot be attributed to this run (the energy is what the measured devices used in the window, whoever used them)`,
        },
    windows: { whole, steady, headline: run.headline },
    requests: {
      count: summary.requests,
      ok: summary.ok,
      errors: summary.errors,
      timeouts: summary.timeouts,
      aborted: summary.aborted,
      error_rate: summary.errorRate,
      max_error_rate: section.max_error_rate,
      token_source: tokenSource,
      ttft_ms: latencyStats(summary.ttftMs),
      itl_ms: latencyStats(summary.itlMs),
      tpot_ms: latencyStats(summary.tpotMs),
      e2e_ms: latencyStats(summary.e2eMs),
      requests_per_s: summary.requestsPerS,
      output_tokens_per_s: summary.outputTokensPerS,
    },
    per_request_energy: perRequest,
    requests_file: REQUESTS_FILE,
  };
  const warnings: string[] = [];
  if (!section.server)
    warnings.push(
      `serving endpoint ${baseUrl} is not llem's: its processes cannot be attributed to this run`,
    );
  if (steady?.short)
    warnings.push(
      `the steady-state window is ${steady.duration_s.toFixed(2)} s, under energy.min_window_seconds (${config.energy.min_window_seconds} s): its energy is unreliable; send more requests (openai.requests / duration_s)`,
    );
  return { serving, files: { requests: REQUESTS_FILE }, warnings };
}
