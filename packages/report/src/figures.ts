import {
  type Dimension,
  dimensionTitle,
  type PowerRun,
  parameterSpec,
  paretoSpec,
  powerSpec,
  sweepDimensions,
} from './charts.js';
import { type ReportModel, timeseriesOf } from './model.js';
import { renderSvg } from './vega.js';

/** The report's charts, drawn: what the HTML page inlines and the Markdown page links to. */

export interface Figure {
  /** A file-name-safe name, unique in the report: `pareto`, `by-batch_size`, `power-3`. */
  name: string;
  title: string;
  /** How to read it, one or two sentences. */
  caption: string;
  svg: string;
}

export interface Figures {
  pareto: Figure | null;
  /** One per swept dimension (none when nothing varies). */
  parameters: Figure[];
  dimensions: Dimension[];
  /** One per config with a timeseries, at most `maxTimelines`. */
  timelines: Figure[];
  /** Configs with a timeseries left out by `maxTimelines`. */
  timelinesLeftOut: number;
}

export const PARETO_CAPTION =
  'One labelled point per config: the mean over its cycles; hollow points are the single cycles. ' +
  'Bars are 95 % confidence intervals of the mean (Student t), cut at zero and at the edge of the chart ' +
  '(the config table gives their full width; with two cycles they are wide by design). ' +
  'Red: the Pareto front, the configs no other config beats on both lower J/token and higher tok/s. ' +
  'J/token is on a log scale when the configs span a factor of 10 or more.';

export const PARAMETER_CAPTION =
  'Mean J/token per config with its 95 % interval (cut at zero and at the chart edge) and its single cycles (hollow); one line per combination of the other parameters; a log scale when the configs span a factor of 10 or more.';

export const TIMELINE_CAPTION =
  "Each cycle from its measurement window's start (shaded), overlaid; hover a line for its figures.";

const safeName = (text: string) => text.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60);

function timelineRuns(model: ReportModel) {
  const out: { title: string; runs: PowerRun[] }[] = [];
  for (const config of model.configs) {
    const runs: PowerRun[] = [];
    for (const result of config.results) {
      const rows = timeseriesOf(model.timeseries, result.experiment_id);
      if (rows && rows.length > 0)
        runs.push({ cycle: result.cycle, rows, windowS: result.window.duration_s });
    }
    if (runs.length > 0) out.push({ title: `Power: ${config.aggregate.label}`, runs });
  }
  return out;
}

export async function renderFigures(model: ReportModel): Promise<Figures> {
  const aggregates = model.configs.map((c) => c.aggregate);
  const dimensions = sweepDimensions(aggregates);
  const pareto = paretoSpec(model.configs);
  const parameters: Figure[] = [];
  for (const dimension of dimensions) {
    const spec = parameterSpec(
      model.configs,
      dimension,
      dimensions.filter((d) => d !== dimension),
    );
    if (spec)
      parameters.push({
        name: `by-${safeName(dimension.key)}`,
        title: `Energy per output token by ${dimensionTitle(dimension.key)}`,
        caption: PARAMETER_CAPTION,
        svg: await renderSvg(spec, `by-${safeName(dimension.key)}`),
      });
  }
  const candidates = timelineRuns(model);
  const timelines: Figure[] = [];
  for (const [i, { title, runs }] of candidates.slice(0, model.maxTimelines).entries()) {
    const spec = powerSpec(title, runs);
    if (spec)
      timelines.push({
        name: `power-${i + 1}`,
        title,
        caption: TIMELINE_CAPTION,
        svg: await renderSvg(spec, `power-${i + 1}`),
      });
  }
  return {
    pareto: pareto && {
      name: 'pareto',
      title: 'Energy per output token against output throughput',
      caption: PARETO_CAPTION,
      svg: await renderSvg(pareto, 'pareto'),
    },
    parameters,
    dimensions,
    timelines,
    timelinesLeftOut: Math.max(0, candidates.length - model.maxTimelines),
  };
}
