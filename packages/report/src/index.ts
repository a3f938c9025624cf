export {
  type Dimension,
  parameterChart,
  paretoChart,
  powerTimeline,
  sweepDimensions,
  thinSeries,
} from './charts.js';
export {
  type BuiltReport,
  buildReport,
  loadReportTimeseries,
  type ReportOptions,
  renderReport,
  type TimeseriesByExperiment,
  writeReport,
} from './html.js';
export { dominates, type ParetoPoint, paretoFront } from './pareto.js';
export { escapeHtml, niceTicks } from './svg.js';
