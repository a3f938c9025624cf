/**
 * @llem/core: the contracts every llem package and plugin builds on. The state machine and its
 * record, config schemas, loading and hashing, the result schema, the plugin interfaces and
 * definePlugin, the errors and their brand checks, DI tokens, and the small helpers a plugin
 * needs. Orchestration (createLlem, the orchestrator, executors), results (reading, tables) and
 * the contract test suites are behind their own doors: `@llem/core/orchestration`,
 * `@llem/core/results`, `@llem/core/testing` (docs/architecture.md says why).
 */
export * from './clock.js';
export * from './config/bounds.js';
export * from './config/experiment.js';
export * from './config/issues.js';
export * from './config/legacy.js';
export * from './config/load.js';
export * from './config/resolve.js';
export * from './config/study.js';
export * from './config/suggest.js';
export * from './di/logger.js';
export * from './di/tokens.js';
export * from './energy/measurement.js';
export * from './errors.js';
export * from './fs/atomic-write.js';
export * from './fs/path-exists.js';
export * from './hash/config-hash.js';
export * from './hash/jcs.js';
export type { RunReport, RunRequest, RunStatus } from './orchestration/experiment-orchestrator.js';
export type { Llem, LlemOptions, LlemRunOptions } from './orchestration/llem.js';
export type { ProgressEvent, ProgressListener, RunStep, WindowEnergy } from './orchestration/progress.js';
export type {
  PlannedExperiment,
  PlannedRun,
  StudyDuplicate,
  StudyPlan,
} from './orchestration/study-plan.js';
export type { StudyRunEntry, StudyRunStatus, StudySummary } from './orchestration/study-summary.js';
export * from './plugins/backend.js';
export * from './plugins/energy.js';
export * from './plugins/executor.js';
export * from './plugins/registry.js';
export * from './plugins/runner.js';
export * from './process/env.js';
export * from './protocol/events.js';
export * from './results/experiment-result.js';
export * from './results/serving.js';
export * from './results/workload-result.js';
export * from './security/ids.js';
export * from './state/experiment-state.js';
export * from './state/liveness.js';
export * from './state/phase.js';
export * from './state/store.js';
export * from './state/store-support.js';
