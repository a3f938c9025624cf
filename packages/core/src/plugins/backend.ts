import type { z } from 'zod';
import type { ExperimentConfig, Precision } from '../config/experiment.js';
import type { ProtocolEvent } from '../protocol/events.js';
import type { WorkloadResult } from '../results/workload-result.js';
import type { RunOutcome, RunSpec } from './runner.js';

export type LaunchMode = 'local' | 'docker';

export interface BackendContext {
  config: ExperimentConfig;
  configHash: string;
  experimentId: string;
  /** A private directory for this run: config in, result and logs out. Exists already. */
  workDir: string;
  launch: LaunchMode;
  signal?: AbortSignal;
  log?: (message: string) => void;
}

/** A file to write before launch (e.g. the resolved config), relative to workDir. */
export interface LaunchFile {
  path: string;
  content: string;
  /** Octal mode, default 0o600. */
  mode?: number;
}

/** How to launch the workload. The orchestrator writes `files`, then runs `spec`. */
export interface LaunchPlan {
  spec: RunSpec;
  files?: readonly LaunchFile[];
  /** Shown by --dry-run. */
  description?: string;
  /** Files to delete after the run whatever happens (e.g. a secrets env file). */
  cleanupPaths?: readonly string[];
}

export interface CollectContext extends BackendContext {
  outcome: RunOutcome;
  events: readonly ProtocolEvent[];
  /** The last lines the workload wrote to stderr, for error messages. */
  stderrTail: readonly string[];
}

export interface DoctorCheck {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

/**
 * An inference backend. It launches and reports workloads; it never measures energy.
 * Third-party backends implement this and run `describeBackendContract`.
 */
export interface BackendPlugin<Section = unknown> {
  readonly name: string;
  readonly version?: string;
  /** Validates (and applies defaults to) the backend's own config section. Strict. */
  readonly configSchema: z.ZodType<Section>;
  readonly supportedPrecisions?: readonly Precision[];
  readonly supportedLaunchModes?: readonly LaunchMode[];
  /** Cross-field checks a schema cannot express; each string is one problem. */
  validate?(config: ExperimentConfig): string[];
  prepare(ctx: BackendContext): Promise<LaunchPlan>;
  collect(ctx: CollectContext): Promise<WorkloadResult>;
  doctor?(): Promise<DoctorCheck[]>;
  /** Rough seconds for one experiment, for --dry-run and ETAs. */
  estimateSeconds?(config: ExperimentConfig): number;
}

export interface BackendCatalog {
  get(name: string): BackendPlugin | undefined;
  names(): string[];
}
