export { killAllRunningGroups } from './active-groups.js';
export * from './interrupt.js';
export { DEFAULT_MAX_LINE_LENGTH, LineSplitter } from './line-splitter.js';
export { default } from './plugin.js';
export * from './proc.js';
export * from './process-group-runner.js';
export { resolveExecutable } from './resolve-command.js';
