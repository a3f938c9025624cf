import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ExperimentConfig } from '../config/experiment.js';
import { type EnergyMeasurement, headlineEnergy } from '../energy/measurement.js';
import type { LaunchMode } from '../plugins/backend.js';
import {
  type ExperimentResult,
  ExperimentResultSchema,
  RESULT_SCHEMA_VERSION,
} from '../results/experiment-result.js';
import type { WorkloadResult } from '../results/workload-result.js';

let cachedVersion: string | undefined;

/** @llem/core's version, set by a bundler that inlines this file (the llem CLI's build); else undefined. */
declare const __LLEM_CORE_VERSION__: string | undefined;

/** @llem/core's version, read once from its package.json (same relative path from src/ and dist/). */
export function llemVersion(): string {
  if (typeof __LLEM_CORE_VERSION__ === 'string') return __LLEM_CORE_VERSION__;
  if (cachedVersion === undefined) {
    try {
      const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        version?: string;
      };
      cachedVersion = manifest.version ?? '0.0.0';
    } catch {
      cachedVersion = '0.0.0';
    }
  }
  return cachedVersion;
}

/**
 * Energy per output token / per request. Adjusted (baseline-subtracted) measured energy when it
 * exists, else raw measured; an estimate is used only when nothing was measured, and then the
 * basis says `estimate` so it is never read as a measurement.
 */
export function efficiencyOf(
  energy: EnergyMeasurement | null,
  workload: WorkloadResult,
): ExperimentResult['efficiency'] {
  const none = {
    energy_per_output_token_j: null,
    energy_per_request_j: null,
    output_tokens_per_j: null,
    basis: null,
  };
  const headline = headlineEnergy(energy);
  if (!headline) return none;
  const { joules, basis } = headline;
  const output = workload.tokens.output;
  // Token and request counts are exact: the energy's uncertainty divides through unchanged.
  const uncertaintyJ = basis === 'estimate' ? undefined : energy?.total.uncertainty?.total_j;
  return {
    energy_per_output_token_j: output > 0 ? joules / output : null,
    energy_per_request_j: workload.requests > 0 ? joules / workload.requests : null,
    output_tokens_per_j: joules > 0 ? output / joules : null,
    basis,
    ...(uncertaintyJ !== undefined
      ? {
          energy_per_output_token_uncertainty_j: output > 0 ? uncertaintyJ / output : null,
          energy_per_request_uncertainty_j: workload.requests > 0 ? uncertaintyJ / workload.requests : null,
        }
      : {}),
  };
}

export interface ResultParts {
  experimentId: string;
  configHash: string;
  studyId: string | null;
  cycle: number | null;
  attempt: number;
  config: ExperimentConfig;
  backendName: string;
  backendVersion: string | null;
  launch: LaunchMode;
  workload: WorkloadResult;
  energy: EnergyMeasurement | null;
  timings: ExperimentResult['timings'];
  warnings: readonly string[];
  files: Record<string, string>;
  /** A serving backend's block (BackendPlugin.completeResult). */
  serving?: ExperimentResult['serving'];
}

/** Builds result.json's content and validates it (a bug here fails the run, it never writes a bad file). */
export function assembleResult(parts: ResultParts): ExperimentResult {
  const { workload, energy } = parts;
  // Info-level notes (e.g. "this energy is an estimate") stay in energy.quality; warnings are for problems.
  const qualityWarnings =
    energy?.quality.warnings
      .filter((w) => w.severity !== 'info')
      .map((w) => `energy ${w.severity}: ${w.code}${w.device_id ? ` (${w.device_id})` : ''}: ${w.message}`) ??
    [];
  const result: ExperimentResult = {
    schema_version: RESULT_SCHEMA_VERSION,
    experiment_id: parts.experimentId,
    config_hash: parts.configHash,
    study_id: parts.studyId,
    cycle: parts.cycle,
    attempt: parts.attempt,
    llem_version: llemVersion(),
    config: parts.config as Record<string, unknown>,
    backend: {
      name: parts.backendName,
      version: workload.backend_version ?? parts.backendVersion,
      launch: parts.launch,
    },
    model: parts.config.model,
    timings: parts.timings,
    window: workload.window,
    workload: {
      requests: workload.requests,
      batches: workload.batches,
      input_tokens: workload.tokens.input,
      output_tokens: workload.tokens.output,
      total_tokens: workload.tokens.total,
      output_tokens_per_s: workload.throughput.output_tokens_per_s,
      total_tokens_per_s: workload.throughput.total_tokens_per_s,
      requests_per_s: workload.throughput.requests_per_s,
      latency: workload.latency,
    },
    energy,
    efficiency: efficiencyOf(energy, workload),
    warmup: workload.warmup,
    memory: workload.memory,
    flops: workload.flops,
    environment: { ...workload.environment, host: hostname(), llem_node: process.version },
    energy_cross_check: workload.energy_cross_check,
    warnings: [...workload.warnings, ...qualityWarnings, ...parts.warnings],
    ...(parts.serving ? { serving: parts.serving } : {}),
    files: parts.files,
  };
  return ExperimentResultSchema.parse(result);
}
