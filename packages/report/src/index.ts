export {
  type BuiltReport,
  buildReport,
  loadReportTimeseries,
  type ReportFormat,
  reportFormatOf,
  type WrittenFile,
  writeReport,
} from './build.js';
export {
  axisDomain,
  type Dimension,
  type Interval,
  interval,
  LOG_RATIO,
  niceDomain,
  parameterSpec,
  paretoSpec,
  placeLabels,
  positiveAxis,
  powerSpec,
  sweepDimensions,
  thinSeries,
} from './charts.js';
export { type Figure, type Figures, renderFigures } from './figures.js';
export { renderHtml, renderReport } from './html.js';
export { renderMarkdown } from './markdown.js';
export {
  buildReportModel,
  type CountedWarning,
  type ReportConfig,
  type ReportModel,
  type ReportOptions,
  type TimeseriesByExperiment,
} from './model.js';
export { dominates, type ParetoPoint, paretoFront } from './pareto.js';
export { escapeHtml, escapeMarkdown } from './text.js';
export { renderSvg } from './vega.js';
