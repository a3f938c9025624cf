import { type ExperimentResult, headlineEnergy } from '@llem/core';
import {
  flattenConfig,
  metricValue,
  resultsTableRows,
  type SampleStats,
  type Scalar,
} from '@llem/core/results';

/**
 * Shapes of the `--json` lines that carry results (docs/json.md): camelCase keys; config fields,
 * whose names are the config's own (`pytorch.batch_size`), are `{key, value}` pairs, never keys.
 */

export interface ParameterValue {
  key: string;
  value: Scalar;
}

export interface StatsRecord {
  n: number;
  mean: number | null;
  std: number | null;
  ci95: number | null;
}

const stats = (s: SampleStats): StatsRecord => ({ n: s.n, mean: s.mean, std: s.std, ci95: s.ci95 });

/** One result's key figures. `energyBasis` says where `energyJ` and `energyPerOutputTokenJ` come from. */
export function resultMetrics(result: ExperimentResult) {
  const headline = headlineEnergy(result.energy);
  return {
    energyJ: headline?.joules ?? null,
    energyBasis: headline?.basis ?? null,
    energyPerOutputTokenJ: metricValue(result, 'energy_per_output_token_j'),
    outputTokensPerS: metricValue(result, 'output_tokens_per_s'),
    ttftP50Ms: metricValue(result, 'ttft_p50_ms'),
    windowS: metricValue(result, 'window_s'),
    outputTokens: result.workload.output_tokens,
  };
}

/** The values of `parameters` (dotted config keys) in one result's config. */
export function parameterValues(result: ExperimentResult, parameters: readonly string[]): ParameterValue[] {
  const flat = flattenConfig(result.config);
  return parameters.map((key) => ({ key, value: flat[key] ?? null }));
}

/** One record per config (study id + config hash): mean, std and 95 % CI over its cycles. */
export function configRecords(results: readonly ExperimentResult[], parameters: readonly string[]) {
  return resultsTableRows(results, { parameters }).map((row) => ({
    studyId: row.study_id,
    configHash: row.config_hash,
    parameters: parameters.map((key) => ({ key, value: row.params[key] ?? null })),
    n: row.n,
    energyJ: stats(row.energy_j),
    energyBasis: row.energy_basis,
    energyPerOutputTokenJ: stats(row.energy_per_output_token_j),
    outputTokensPerS: stats(row.output_tokens_per_s),
    ttftP50Ms: stats(row.ttft_p50_ms),
    quality: row.quality,
    experimentIds: row.experiment_ids,
  }));
}
