export { checkSpec, requestBody, runLoad } from './run.js';
export { arrivalSchedule, arrivalTimes, sampleGamma, seededRandom } from './schedule.js';
export type { RequestSummary } from './summary.js';
export { itlOf, percentiles, quantileOfSorted, summarizeRequests, tpotOf, ttftOf } from './summary.js';
export type {
  LoadHooks,
  LoadMode,
  LoadRun,
  LoadSpec,
  MsWindow,
  Pct,
  RequestRecord,
  RequestStatus,
} from './types.js';
