import type { ExperimentResult } from '@llem/core';
import {
  aggregateByConfig,
  allWarnings,
  type ConfigAggregate,
  type ResultProblem,
  type TimeseriesRow,
  varyingParameters,
} from '@llem/core/results';

/**
 * What a report shows, worked out once from the results: the configs with their cycles, the
 * swept parameters, the energy sources, the warnings counted. The HTML and Markdown pages and the
 * charts all read this.
 */

export type TimeseriesByExperiment =
  | ReadonlyMap<string, readonly TimeseriesRow[]>
  | Readonly<Record<string, readonly TimeseriesRow[]>>;

export interface ReportOptions {
  title?: string;
  /** Timeseries rows per experiment id (loadReportTimeseries reads them next to each result.json). */
  timeseries?: TimeseriesByExperiment;
  /** Files that could not be read (from readResults), listed in the report. */
  problems?: readonly ResultProblem[];
  /** Shown in the header; default now. */
  generatedAt?: Date;
  /** At most this many power charts, one per config (default 60), so a big study stays a reasonable file. */
  maxTimelines?: number;
}

/** One config of the report: its mean over cycles and the cycles themselves, in cycle order. */
export interface ReportConfig {
  aggregate: ConfigAggregate;
  results: ExperimentResult[];
  /** Where its J/token comes from, in words: `measured, idle subtracted`, `measured`, `estimated`. */
  source: string;
}

/** A warning text with the number of runs that gave it and which runs they were. */
export interface CountedWarning {
  text: string;
  count: number;
  runs: string[];
}

export interface ReportModel {
  title: string;
  generatedAt: Date;
  results: readonly ExperimentResult[];
  configs: ReportConfig[];
  /** Config keys (dotted) that vary across the results. */
  params: string[];
  studies: string[];
  devices: string[];
  versions: string[];
  /** Energy sources in use, in words (see ReportConfig.source). */
  sources: string[];
  warnings: CountedWarning[];
  problems: readonly ResultProblem[];
  timeseries: TimeseriesByExperiment | undefined;
  maxTimelines: number;
}

const SOURCE_WORDS: Record<string, string> = {
  adjusted: 'measured, idle subtracted',
  raw: 'measured',
  estimate: 'estimated',
};

/** The energy source of a J/token figure in words, from `efficiency.basis`. */
export function sourceOf(basis: string | null): string {
  return basis === null ? 'no energy' : (SOURCE_WORDS[basis] ?? basis);
}

function distinct(values: readonly (string | null | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v !== ''))];
}

/** `bs=4 · temperature=0.5, cycle 1`: how the report names one run. */
export function runName(config: ConfigAggregate, result: ExperimentResult): string {
  return result.cycle === null ? config.label : `${config.label}, cycle ${result.cycle}`;
}

export function timeseriesOf(
  source: TimeseriesByExperiment | undefined,
  id: string,
): readonly TimeseriesRow[] | undefined {
  if (!source) return undefined;
  return source instanceof Map ? source.get(id) : (source as Record<string, readonly TimeseriesRow[]>)[id];
}

/** Each distinct warning once, with how many runs gave it, most frequent first. */
function countWarnings(configs: readonly ReportConfig[]): CountedWarning[] {
  const counted = new Map<string, CountedWarning>();
  for (const config of configs)
    for (const result of config.results)
      for (const text of new Set(allWarnings(result))) {
        const entry = counted.get(text) ?? { text, count: 0, runs: [] };
        entry.count++;
        entry.runs.push(runName(config.aggregate, result));
        counted.set(text, entry);
      }
  return [...counted.values()].sort((a, b) => b.count - a.count);
}

type Sortable = string | number | boolean | null | undefined;

function compareValues(a: Sortable, b: Sortable): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), 'en', { numeric: true });
}

/** Configs in the order of their settings (model, backend, precision, batch size, swept keys; numbers by value). */
function compareConfigs(params: readonly string[]) {
  return (x: ReportConfig, y: ReportConfig): number => {
    const a = x.aggregate;
    const b = y.aggregate;
    const keys: [Sortable, Sortable][] = [
      [a.model, b.model],
      [a.backend, b.backend],
      [a.precision, b.precision],
      [a.batch_size, b.batch_size],
      ...params.map((p): [Sortable, Sortable] => [a.params[p] as Sortable, b.params[p] as Sortable]),
    ];
    for (const [u, v] of keys) {
      const c = compareValues(u, v);
      if (c !== 0) return c;
    }
    return 0;
  };
}

export function buildReportModel(
  results: readonly ExperimentResult[],
  options: ReportOptions = {},
): ReportModel {
  const byHash = new Map<string, ExperimentResult[]>();
  for (const result of results)
    byHash.set(result.config_hash, [...(byHash.get(result.config_hash) ?? []), result]);
  const configs = aggregateByConfig(results).map((aggregate) => {
    const cycles = [...(byHash.get(aggregate.config_hash) ?? [])].sort(
      (a, b) => (a.cycle ?? 0) - (b.cycle ?? 0),
    );
    return {
      aggregate,
      results: cycles,
      source: distinct(cycles.map((r) => sourceOf(r.efficiency.basis))).join(' / '),
    };
  });
  const params = varyingParameters(results);
  configs.sort(compareConfigs(params));
  return {
    title: options.title ?? 'llem results',
    generatedAt: options.generatedAt ?? new Date(),
    results,
    configs,
    params,
    studies: distinct(results.map((r) => r.study_id)),
    devices: distinct(
      results.flatMap((r) => (r.energy?.devices ?? []).map((d) => `${d.device_id}: ${d.name}`)),
    ),
    versions: distinct(results.map((r) => r.llem_version)),
    sources: distinct(results.map((r) => sourceOf(r.efficiency.basis))),
    warnings: countWarnings(configs),
    problems: options.problems ?? [],
    timeseries: options.timeseries,
    maxTimelines: options.maxTimelines ?? 60,
  };
}
