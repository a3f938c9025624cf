export * from './doctor.js';
export * from './exec-file.js';
export * from './exec-job.js';
export * from './job-shape.js';
export { default } from './plugin.js';
export * from './shared-store.js';
export * from './slurm-commands.js';
export * from './slurm-runner.js';
export * from './study-executor.js';
