import {
  allWarnings,
  batchSizeOf,
  flattenConfig,
  metricValue,
  precisionOf,
  qualityOk,
  type SampleStats,
  type Scalar,
} from '@llem/core/results';
import { type ReportModel, sourceOf } from './model.js';
import { fmt } from './text.js';

/** The report's tables as cells, drawn by the HTML and the Markdown page alike. */

export interface Cell {
  text: string;
  /** The number behind the text (for sorting and right alignment); absent for text cells. */
  value?: number | null;
  tone?: 'ok' | 'bad';
}

export interface Table {
  headers: string[];
  rows: Cell[][];
}

const NONE: Cell = { text: '-', value: null };

function cell(value: Scalar | undefined): Cell {
  if (value === null || value === undefined) return NONE;
  if (typeof value === 'number') return { text: fmt(value), value };
  if (typeof value === 'boolean') return { text: String(value) };
  return { text: value };
}

function statCell(s: SampleStats): Cell {
  if (s.mean === null) return NONE;
  return { text: `${fmt(s.mean)}${s.ci95 === null ? '' : ` ± ${fmt(s.ci95)}`}`, value: s.mean };
}

function qualityCell(ok: boolean | null): Cell {
  if (ok === null) return NONE;
  return ok ? { text: 'ok', tone: 'ok' } : { text: 'flagged', tone: 'bad' };
}

/** One row per config: means over cycles with their 95 % intervals, each energy figure with its source. */
export function configTable(model: ReportModel): Table {
  return {
    headers: [
      'Config',
      'Model',
      'Precision',
      'Batch',
      ...model.params,
      'n',
      'J/token (±95 % CI)',
      'J/token source',
      'tok/s (±95 % CI)',
      'TTFT p50 ms',
      'ITL p50 ms',
      'Energy J (measured)',
      'Quality',
      'Hash',
    ],
    rows: model.configs.map(({ aggregate: a, source }) => [
      { text: a.label },
      cell(a.model),
      cell(a.precision),
      cell(a.batch_size),
      ...model.params.map((p) => cell(a.params[p])),
      cell(a.n),
      statCell(a.stats.energy_per_output_token_j),
      { text: source || '-' },
      statCell(a.stats.output_tokens_per_s),
      statCell(a.stats.ttft_p50_ms),
      statCell(a.stats.itl_p50_ms),
      statCell(a.stats.energy_measured_j),
      qualityCell(a.quality_ok),
      { text: a.config_hash },
    ]),
  };
}

/** One row per run (experiment-cycle), in config then cycle order. */
export function resultsTable(model: ReportModel): Table {
  return {
    headers: [
      'Config',
      'Cycle',
      'Experiment',
      'Model',
      'Backend',
      'Precision',
      'Batch',
      ...model.params,
      'J/token',
      'J/token source',
      'tok/s',
      'TTFT p50 ms',
      'ITL p50 ms',
      'Energy J (measured)',
      'Adjusted J',
      'Window s',
      'Quality',
      'Warnings',
    ],
    rows: model.configs.flatMap(({ aggregate, results }) =>
      results.map((r) => {
        const flat = flattenConfig(r.config);
        return [
          { text: aggregate.label },
          cell(r.cycle),
          { text: r.experiment_id },
          cell(r.model),
          cell(r.backend.name),
          cell(precisionOf(r)),
          cell(batchSizeOf(r)),
          ...model.params.map((p) => cell(flat[p])),
          cell(metricValue(r, 'energy_per_output_token_j')),
          { text: sourceOf(r.efficiency.basis) },
          cell(metricValue(r, 'output_tokens_per_s')),
          cell(metricValue(r, 'ttft_p50_ms')),
          cell(metricValue(r, 'itl_p50_ms')),
          cell(metricValue(r, 'energy_measured_j')),
          cell(metricValue(r, 'energy_adjusted_j')),
          cell(metricValue(r, 'window_s')),
          qualityCell(qualityOk(r)),
          cell(allWarnings(r).length),
        ];
      }),
    ),
  };
}
