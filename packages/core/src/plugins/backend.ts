import type { z } from 'zod';
import type { ExperimentConfig, Precision } from '../config/experiment.js';
import type { BaselineInfo, EnergyMeasurement } from '../energy/measurement.js';
import type { ProtocolEvent } from '../protocol/events.js';
import type { Serving } from '../results/serving.js';
import type { WorkloadResult } from '../results/workload-result.js';
import type { MeasurementWindowNs, SamplerTrace } from './energy.js';
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

/**
 * What `BackendPlugin.completeResult` sees once the workload's result and its window's energy are
 * known, before result.json is written.
 */
export interface CompleteResultContext<Section = unknown> extends BackendContext<Section> {
  workload: WorkloadResult;
  /** The measurement window (the workload's window events). */
  window: MeasurementWindowNs;
  /** Energy over that window, as result.json will carry it (null: not measured). */
  energy: EnergyMeasurement | null;
  /** The meter's readings of the run (empty when energy was not measured). */
  traces: readonly SamplerTrace[];
  baseline: BaselineInfo | null;
  /** Energy over another span of the same run: the same meter, baseline and quality checks (null: not measured). */
  energyOver(window: MeasurementWindowNs): EnergyMeasurement | null;
  /** The result directory being built: sidecar files written here sit next to result.json. */
  resultDir: string;
}

/** What a backend adds to result.json: its own block, sidecar files (name → relative path) and warnings. */
export interface ResultAddition {
  serving?: Serving;
  files?: Record<string, string>;
  warnings?: readonly string[];
}

export interface DoctorCheck {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

/**
 * One thing checked before a run starts (`llem run` and `--dry-run` do the preflight once for the
 * whole plan). `setting` names what the user changes to fix it, as they know it: `LLEM_PYTHON`,
 * `defaults.python in ~/.config/llenergymeasure/config.yaml`, `--launch`, `dataset.path in study.yaml`.
 */
export interface PreflightCheck extends DoctorCheck {
  setting?: string;
}

/** One experiment of a plan, as a backend's preflight sees it: its config, its section and its launch mode. */
export interface PreflightRequest<Section = unknown> {
  config: ExperimentConfig;
  section: Section;
  launch: LaunchMode;
}

export interface PreflightContext {
  /**
   * The name the user knows a config field by, for `PreflightCheck.setting`: `model in study.yaml`,
   * `--model`, `--set dataset.path`. `path` is dotted, as in the config (`dataset.path`).
   */
  fieldSetting(path: string): string;
  /** Host environment. */
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Progress lines of something slow (a first-time environment setup). */
  log?: (message: string) => void;
  /** A dry run: check what can be checked, create and install nothing. */
  dryRun?: boolean;
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
  /**
   * Optional: adds to result.json what needs the window's energy (e.g. a serving backend's
   * per-request energy). Called after collect, when the energy is integrated; a throw fails the run.
   */
  completeResult?(ctx: CompleteResultContext<Section>): Promise<ResultAddition>;
  doctor?(): Promise<DoctorCheck[]>;
  /**
   * What the workloads of a plan need that a config cannot say, checked once before anything
   * starts: an interpreter and its imports, the model in a local cache or reachable, the dataset
   * files it reads. Called once per plan with every experiment that uses this backend (so a
   * backend probes each interpreter once, not once per experiment); the orchestration dedupes
   * identical checks and stops the run (exit 2) on any `fail`. Never downloads a model or a
   * dataset and never starts a workload. Docker readiness and the files of `dataset.path` are
   * checked by llem itself (dockerReadiness, the preflight in @llem/core/orchestration).
   */
  preflight?(
    experiments: readonly PreflightRequest<Section>[],
    ctx: PreflightContext,
  ): Promise<PreflightCheck[]>;
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
