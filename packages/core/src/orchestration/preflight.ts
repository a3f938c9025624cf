import { constants, existsSync, statSync } from 'node:fs';
import { access, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError, isInterruptedError, isLlemError, messageOf } from '../errors.js';
import type {
  BackendCatalog,
  BackendPlugin,
  LaunchMode,
  PreflightCheck,
  PreflightRequest,
} from '../plugins/backend.js';
import { launchModeFor } from './experiment-orchestrator.js';
import type { StudyPlan } from './study-plan.js';

/**
 * The preflight: everything a plan needs that a config file cannot say, checked once before
 * anything starts (`llem run` and `llem run --dry-run` both run it), so a missing python, Docker
 * daemon, dataset file or model is one line with the setting to change, not a failure of every run.
 *
 * - each backend's own checks (`BackendPlugin.preflight`: its interpreter and imports, the models
 *   and datasets it reads), called once with all of the plan's experiments that use it;
 * - Docker, for experiments that launch in Docker (`BackendPlugin.dockerReadiness`), once per backend;
 * - the files of `dataset.path`, once per file;
 * - the directories the run writes to: writable, and not full.
 *
 * Identical checks (two backends reporting the same thing) are reported once.
 */

export interface PreflightDirectory {
  /** What it is, e.g. `results dir`. */
  name: string;
  path: string;
  /** Where it was set, e.g. `--results-dir`, `LLEM_RESULTS_DIR`. */
  setting: string;
}

export interface PreflightOptions {
  /** The study's launch mode (resolveLaunch), or undefined when each experiment decides. */
  launch: LaunchMode | undefined;
  /** Where the study's launch mode was chosen (`--launch`, `LLEM_LAUNCH`, `defaults.launch in <file>`). */
  launchSetting?: string;
  /** The name a user knows a config field by (`model in study.yaml`, `--model`); default `<field> in <plan source>`. */
  fieldSetting?: (path: string) => string;
  /** Directories the run writes to (results, state): each must be writable and not full. */
  directories?: readonly PreflightDirectory[];
  /** A dry run: backends check what they can, and create nothing. */
  dryRun?: boolean;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Progress lines (a backend setting up its environment the first time). */
  log?: (message: string) => void;
}

export interface PreflightReport {
  /** No check failed. */
  ok: boolean;
  /** Every check, in order: backends, Docker, dataset files, directories. */
  checks: PreflightCheck[];
  /** The failed checks. */
  problems: PreflightCheck[];
}

/** Below this much free space a directory counts as full: a result could not be written. */
export const FULL_DISK_BYTES = 1024 * 1024;
/** Below this much free space a directory gets a warning. */
export const LOW_DISK_BYTES = 512 * 1024 * 1024;

export async function runPreflight(
  plan: Pick<StudyPlan, 'experiments' | 'source'>,
  backends: BackendCatalog,
  options: PreflightOptions,
): Promise<PreflightReport> {
  const env = options.env ?? process.env;
  const source = plan.source;
  const fieldSetting = options.fieldSetting ?? ((path: string) => (source ? `${path} in ${source}` : path));
  const checks: PreflightCheck[] = [];

  // Each backend once, with its experiments and their launch modes.
  const byBackend = new Map<BackendPlugin, PreflightRequest[]>();
  for (const experiment of plan.experiments) {
    const plugin = backends.get(experiment.config.backend);
    if (!plugin) continue; // the plan was validated with these backends: cannot happen
    const requests = byBackend.get(plugin) ?? [];
    requests.push({
      config: experiment.config,
      section: experiment.config[experiment.config.backend],
      launch: launchModeFor(experiment.config, plugin, options.launch),
    });
    byBackend.set(plugin, requests);
  }
  for (const [plugin, requests] of byBackend) {
    if (!plugin.preflight) continue;
    try {
      checks.push(
        ...(await plugin.preflight(requests, {
          fieldSetting,
          env,
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.log ? { log: options.log } : {}),
          ...(options.dryRun ? { dryRun: true } : {}),
        })),
      );
    } catch (error) {
      if (isInterruptedError(error) || options.signal?.aborted) throw error;
      checks.push({
        name: `backend ${plugin.name}`,
        status: 'fail',
        detail: `its preflight failed: ${messageOf(error).split('\n')[0]}`,
        fix: (isLlemError(error) && error.fix) || `Report this to the ${plugin.name} backend's authors.`,
      });
    }
  }

  for (const [plugin, requests] of byBackend) {
    const docker = requests.filter((request) => request.launch === 'docker');
    if (docker.length === 0) continue;
    const setting =
      options.launch === 'docker' ? (options.launchSetting ?? '--launch') : fieldSetting('launch');
    checks.push(await dockerCheck(plugin, setting, env));
  }

  const datasets = new Set<string>();
  for (const experiment of plan.experiments) {
    const { dataset } = experiment.config;
    if (dataset.source === 'jsonl') datasets.add(dataset.path);
  }
  for (const path of datasets) checks.push(await datasetFileCheck(path, fieldSetting('dataset.path')));

  for (const directory of options.directories ?? []) checks.push(await directoryCheck(directory));

  const seen = new Set<string>();
  const unique = checks.filter((check) => {
    const key = JSON.stringify([check.status, check.name, check.detail, check.setting ?? null]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const problems = unique.filter((check) => check.status === 'fail');
  return { ok: problems.length === 0, checks: unique, problems };
}

/** One line for a failed check: the setting, what is wrong, and the fix. */
export function preflightProblemLine(check: PreflightCheck): string {
  const where = check.setting ?? check.name;
  return `${where}: ${check.detail}${check.fix ? `; fix: ${check.fix}` : ''}`;
}

/** The ConfigError (exit 2) for a report with problems, one line per problem; null when ok. */
export function preflightError(report: PreflightReport): ConfigError | null {
  if (report.ok) return null;
  const n = report.problems.length;
  return new ConfigError(report.problems.map(preflightProblemLine).join('\n'), {
    fix: `${n === 1 ? 'Fix the problem' : `Fix the ${n} problems`} named above; nothing was run.`,
  });
}

async function dockerCheck(
  plugin: BackendPlugin,
  setting: string,
  env: NodeJS.ProcessEnv,
): Promise<PreflightCheck> {
  if (!plugin.supportedLaunchModes?.includes('docker') || !plugin.dockerReadiness) {
    return {
      name: 'docker',
      status: 'fail',
      setting,
      detail: `backend ${plugin.name} has no Docker launch`,
      fix: `Run it with launch local${plugin.supportedLaunchModes?.length ? ` (it supports ${plugin.supportedLaunchModes.join(', ')})` : ''}.`,
    };
  }
  const readiness = await plugin.dockerReadiness(env);
  return readiness.ready
    ? { name: 'docker', status: 'ok', detail: readiness.reason }
    : {
        name: 'docker',
        status: 'fail',
        setting,
        detail: `Docker cannot start ${plugin.name} workloads here: ${readiness.reason}`,
        fix: `${readiness.fix ? `${readiness.fix.replace(/\.$/, '')}, or` : 'Or'} run them locally (--launch local).`,
      };
}

async function datasetFileCheck(path: string, setting: string): Promise<PreflightCheck> {
  const fix =
    'Give an existing JSONL file, one {"prompt": "..."} object per line (a relative path in a config file is taken from that file\'s folder; on the command line, from the current directory).';
  if (!existsSync(path))
    return { name: 'dataset', status: 'fail', setting, detail: `${path} does not exist`, fix };
  if (!statSync(path).isFile())
    return { name: 'dataset', status: 'fail', setting, detail: `${path} is not a file`, fix };
  try {
    await access(path, constants.R_OK);
  } catch {
    return {
      name: 'dataset',
      status: 'fail',
      setting,
      detail: `${path} is not readable`,
      fix: 'Fix its permissions, or copy it somewhere readable.',
    };
  }
  return { name: 'dataset', status: 'ok', detail: path };
}

/**
 * A directory a run writes to (it need not exist yet: the nearest existing folder above it is
 * checked): writable, and not full (FULL_DISK_BYTES); a warning below LOW_DISK_BYTES. Also what
 * `llem doctor` reports for the state and results directories.
 */
export async function directoryCheck(
  directory: PreflightDirectory,
  thresholds: { failBelow?: number; warnBelow?: number } = {},
): Promise<PreflightCheck> {
  const { name, path, setting } = directory;
  let existing = path;
  while (!existsSync(existing) && existing !== dirname(existing)) existing = dirname(existing);
  try {
    await access(existing, constants.W_OK);
  } catch {
    return {
      name,
      status: 'fail',
      setting,
      detail: `${existing === path ? path : `${existing} (above ${path})`} is not writable`,
      fix: `Fix its permissions, or point ${setting} at a directory you can write.`,
    };
  }
  const stats = await statfs(existing);
  const free = stats.bavail * stats.bsize;
  const detail = `${path}: ${formatBytes(free)} free`;
  if (free < (thresholds.failBelow ?? FULL_DISK_BYTES))
    return {
      name,
      status: 'fail',
      setting,
      detail: `${detail}: the disk is full`,
      fix: `Free disk space, or point ${setting} at another disk.`,
    };
  if (free < (thresholds.warnBelow ?? LOW_DISK_BYTES))
    return {
      name,
      status: 'warn',
      setting,
      detail: `${detail}: little space left`,
      fix: `Free disk space, or point ${setting} at another disk.`,
    };
  return { name, status: 'ok', detail };
}

function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}
