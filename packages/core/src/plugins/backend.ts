import type { z } from 'zod';
import type { ExperimentConfig, Precision } from '../config/experiment.js';
import type { ProtocolEvent } from '../protocol/events.js';
import type { WorkloadResult } from '../results/workload-result.js';
import type { RunOutcome, RunSpec } from './runner.js';

/** Where a workload's process runs: a local process group, or a Docker container. */
export const LAUNCH_MODES = ['local', 'docker'] as const;
export type LaunchMode = (typeof LAUNCH_MODES)[number];

export interface BackendContext<Section = unknown> {
  config: ExperimentConfig;
  /** The backend's own section (`config[config.backend]`), validated by its configSchema: typed, defaults applied. */
  section: Section;
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

export interface CollectContext<Section = unknown> extends BackendContext<Section> {
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

/** Can something start here now? `reason` says why (not), `fix` what to do about it. */
export interface Readiness {
  ready: boolean;
  reason: string;
  fix?: string;
}

/**
 * An inference backend. It launches and reports workloads; it never measures energy.
 * Third-party backends implement this and run `describeBackendContract`. `Section` is the type
 * of its config section: `prepare`, `collect` and `estimateSeconds` get it validated and typed.
 */
export interface BackendPlugin<Section = unknown> {
  readonly name: string;
  readonly version?: string;
  /** Validates (and applies defaults to) the backend's own config section. Strict. */
  readonly configSchema: z.ZodType<Section>;
  readonly supportedPrecisions?: readonly Precision[];
  /** The launch modes it can do, preferred first (`launch: auto` without Docker takes the first). */
  readonly supportedLaunchModes?: readonly LaunchMode[];
  /** Cross-field checks a schema cannot express; each string is one problem. */
  validate?(config: ExperimentConfig): string[];
  prepare(ctx: BackendContext<Section>): Promise<LaunchPlan>;
  collect(ctx: CollectContext<Section>): Promise<WorkloadResult>;
  doctor?(): Promise<DoctorCheck[]>;
  /** Rough seconds for one experiment, for --dry-run and ETAs. */
  estimateSeconds?(config: ExperimentConfig, section: Section): number;
  /** The container image a Docker launch runs (`env` may override it, e.g. LLEM_PYTORCH_IMAGE). */
  image?(env?: NodeJS.ProcessEnv): string;
  /**
   * Can a Docker launch start here now: a docker client, a daemon, the image present? `launch:
   * auto` runs in Docker only when every backend of the study says ready; the preflight reports it.
   */
  dockerReadiness?(env?: NodeJS.ProcessEnv): Promise<Readiness>;
}

export interface BackendCatalog {
  get(name: string): BackendPlugin | undefined;
  names(): string[];
}
