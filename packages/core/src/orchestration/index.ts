/**
 * @llem/core/orchestration: how runs happen. createLlem (the composition root), the
 * ExperimentOrchestrator and its Attempt, claims and result adoption, study expansion, the local
 * executor and the study summary, and the one-call library API (runExperiment, runStudy).
 */
export * from './adopt.js';
export * from './api.js';
export * from './attempt.js';
export * from './claim.js';
export * from './experiment-orchestrator.js';
export * from './failpoint.js';
export * from './launch.js';
export * from './llem.js';
export * from './local-executor.js';
export * from './naming.js';
export * from './preflight.js';
export * from './prng.js';
export * from './progress.js';
export * from './result-assembly.js';
export * from './sleep.js';
export * from './study-plan.js';
export * from './study-summary.js';
