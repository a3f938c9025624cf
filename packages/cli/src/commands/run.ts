import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import {
  type BackendCatalog,
  ConfigError,
  type ConfigOverride,
  type ExperimentResult,
  headlineEnergy,
  InterruptedError,
  isSafePath,
  type LaunchMode,
  messageOf,
  type PlannedExperiment,
  type ProgressEvent,
  parseSetOverride,
  type RawConfig,
  type StudyPlan,
  type StudySummary,
} from '@llem/core';
import { launchModeFor, resolveLaunch, runPreflight, studyDirFor } from '@llem/core/orchestration';
import { metricValue, tableParameters } from '@llem/core/results';
import type { InterruptHandler } from '@llem/runner-node';
import type { Command } from 'commander';
import { composeLlem, createRegistry } from '../compose.js';
import { releaseEarlySignalHandlers } from '../early-signals.js';
import { configRecords, resultMetrics } from '../json-records.js';
import type { Output } from '../output.js';
import { loadPlan, type OverrideFlags, overridesFromFlags } from '../plan.js';
import { fieldSettingFor, printPreflight, runDirectories, settingName } from '../preflight-view.js';
import { resolveSettings, type Settings } from '../settings.js';
import { duration } from '../view/format.js';
import { compactLabels } from '../view/labels.js';
import { createView, type ProgressView, type RunFinished } from '../view/progress.js';
import { resultsTable } from '../view/tables.js';

export interface RunFlags extends OverrideFlags {
  cycles?: number;
  order?: string;
  launch?: string;
  executor?: string;
  /** Old name of --launch (and --runner slurm of --executor slurm). */
  runner?: string;
  executorConfig?: string;
  executorOption?: string[];
  store?: string;
  stateDir?: string;
  resultsDir?: string;
  dryRun?: boolean;
  force?: boolean;
  /** `--max-runs`: most experiment-cycles the study may expand to. */
  maxRuns?: number;
  // The slurm executor's options under their own flags (they become executor options).
  slurmConfig?: string;
  partition?: string;
  account?: string;
  qos?: string;
  time?: string;
  gpusPerExperiment?: number;
  gpuOption?: string;
  cpusPerTask?: number;
  mem?: string;
  sbatch?: string[];
  array?: boolean | number;
}

/**
 * The executor's options from the command line: `--executor-config FILE` (the slurm job shape
 * file under its old flag `--slurm-config`), the job-shape flags, then each `--executor-option
 * key=value` (a YAML value) over them. The executor checks them: an option it does not know is
 * its error, not the CLI's.
 */
export function executorOptions(flags: RunFlags): Record<string, unknown> | undefined {
  const options: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) options[key] = value;
  };
  set('config', flags.executorConfig ?? flags.slurmConfig);
  set('partition', flags.partition);
  set('account', flags.account);
  set('qos', flags.qos);
  set('time', flags.time);
  set('gpus_per_experiment', flags.gpusPerExperiment);
  set('gpu_option', flags.gpuOption);
  set('cpus_per_task', flags.cpusPerTask);
  set('mem', flags.mem);
  set('sbatch', flags.sbatch);
  if (flags.array !== undefined) {
    options.array = true;
    if (typeof flags.array === 'number') options.array_limit = flags.array;
  }
  for (const text of flags.executorOption ?? []) {
    const { path, value } = parseSetOverride(text);
    options[path.join('.')] = value;
  }
  return Object.keys(options).length > 0 ? options : undefined;
}

/** On a terminal, back to column 0 and erase the line (a `^C` echo); nothing elsewhere. */
function echoErase(): string {
  return process.stderr.isTTY ? '\r\x1b[K' : '';
}

/** `llem run <file>`: validates, plans, then runs every experiment-cycle (or prints the plan). */
export async function runCommand(command: Command, out: Output): Promise<number> {
  // Interrupts are this command's from its first line: a signal while loading stops before anything runs.
  const { installInterruptHandler } = await import('@llem/runner-node');
  let view: ProgressView | undefined;
  const interrupt = installInterruptHandler({
    // The live view erases the `^C` the terminal echoed before it prints; without one, erase it here.
    onFirst: (message) => (view ? view.message(message) : out.info(`${echoErase()}${message}`)),
    onSecond: (message) => {
      view?.stop();
      out.info(`${view ? '' : echoErase()}${message}`);
    },
  });
  releaseEarlySignalHandlers();
  try {
    return await runWithInterrupt(command, out, interrupt, (created) => {
      view = created;
    });
  } finally {
    interrupt.dispose();
  }
}

/** Stops start-up when a signal came: nothing has been claimed yet, so there is nothing to record. */
function checkInterrupted(signal: AbortSignal): void {
  if (signal.aborted) throw new InterruptedError('interrupted while starting: nothing was run');
}

async function runWithInterrupt(
  command: Command,
  out: Output,
  interrupt: InterruptHandler,
  setView: (view: ProgressView) => void,
): Promise<number> {
  const flags = command.opts<RunFlags>();
  const file = command.args[0]!;
  const settings = resolveSettings({
    store: flags.store,
    stateDir: flags.stateDir,
    resultsDir: flags.resultsDir,
    maxRuns: flags.maxRuns,
    launch: flags.launch,
    executor: flags.executor,
    runner: flags.runner,
  });
  const registry = createRegistry(settings, { dryRun: flags.dryRun, executor: executorOptions(flags) });
  const studyOverrides: RawConfig = {};
  if (flags.cycles !== undefined) studyOverrides.cycles = flags.cycles;
  if (flags.order !== undefined) studyOverrides.order = flags.order;
  const { plan, backends } = await loadPlan(file, {
    registry,
    experimentDefaults: settings.experimentDefaults,
    overridesFor: (raw): ConfigOverride[] => overridesFromFlags(flags, (text) => parseSetOverride(text), raw),
    studyOverrides,
    maxRuns: settings.maxRuns.value,
  });
  for (const notice of [...settings.notices, ...plan.notices]) out.notice(notice);
  checkInterrupted(interrupt.signal);
  const { launch, reason } = await resolveLaunch(settings.launch.value, plan, backends);
  checkInterrupted(interrupt.signal);
  out.debug(`launch: ${reason}`);
  // The preflight: once for the whole plan, before anything is claimed or started (exit 2 on a problem).
  const preflight = await runPreflight(plan, backends, {
    launch,
    fieldSetting: fieldSettingFor(overridesFromFlags(flags, parseSetOverride), file),
    launchSetting: settingName('launch', settings.launch, settings),
    directories: runDirectories(settings),
    dryRun: Boolean(flags.dryRun),
    signal: interrupt.signal,
    log: (message) => out.info(message),
  });
  checkInterrupted(interrupt.signal);
  const preflightCode = printPreflight(preflight, out, { dryRun: Boolean(flags.dryRun) });
  if (preflightCode !== null) return preflightCode;
  if (flags.dryRun) return printDryRun(plan, backends, settings, launch, out);
  assertNoEscapingLinks(settings.resultsDir.value, plan.studyId);

  const view = createView(out);
  setView(view);
  // Orchestrator messages (a stale run retried, a cooldown that timed out) go through the view.
  const logger = {
    info: (message: string) => (out.verbose ? view.message(message) : undefined),
    warn: (message: string) => view.message(`warning: ${message}`),
    debug: (message: string) => (out.verbose ? view.message(`debug: ${message}`) : undefined),
  };
  const llem = await composeLlem(settings, registry, { logger });
  const title = plan.kind === 'study' ? `study ${plan.studyId}` : `experiment ${plan.runs[0]!.experimentId}`;
  const results = new Map<string, ExperimentResult>();
  const labels = runLabels(plan);
  let summary: StudySummary;
  try {
    checkInterrupted(interrupt.signal);
    const perExperiment = plan.experiments.map((e) => estimateSeconds(e, backends));
    view.start({
      total: plan.runs.length,
      title,
      estimates: plan.runs.map((run) => perExperiment[run.experimentIndex] ?? null),
      gapSeconds: plan.gaps.experiment_seconds,
      labels,
    });
    summary = await llem.runStudy(plan, {
      executor: settings.executor.value,
      force: flags.force,
      signal: interrupt.signal,
      onProgress: progressRelay(plan, view, results, labels),
      launch,
    });
  } finally {
    view.stop();
    await llem.close();
  }
  return report(summary, plan, results, labels, out);
}

/** Each run's short label (the swept values first), by experiment id. */
function runLabels(plan: StudyPlan): Map<string, string> {
  const short = compactLabels(plan.experiments);
  return new Map(plan.runs.map((run) => [run.experimentId, short[run.experimentIndex] ?? run.experimentId]));
}

/**
 * One run of an experiment, estimated: the backend's estimate of its workload plus the idle
 * baseline; null when the backend gives none. The dry run prints it; the live ETA starts from it.
 */
export function estimateSeconds(experiment: PlannedExperiment, backends: BackendCatalog): number | null {
  const plugin = backends.get(experiment.config.backend);
  const workload =
    plugin?.estimateSeconds?.(experiment.config, experiment.config[experiment.config.backend]) ?? null;
  if (workload === null) return null;
  const baseline =
    experiment.config.energy.enabled && experiment.config.baseline.enabled
      ? experiment.config.baseline.duration_seconds
      : 0;
  return workload + baseline;
}

/**
 * Results are written under the results directory only: a study folder, or an entry in it, that is
 * a symlink pointing outside is refused before anything runs (exit 2).
 */
function assertNoEscapingLinks(resultsDir: string, studyId: string | null): void {
  const studyDir = studyDirFor(resultsDir, studyId);
  const entries = existsSync(studyDir) ? readdirSync(studyDir).map((name) => join(studyDir, name)) : [];
  for (const path of [studyDir, ...entries]) {
    if (!isSafePath(resultsDir, path)) {
      throw new ConfigError(`${path} is a symlink that leads out of the results directory ${resultsDir}.`, {
        fix: 'Remove the link, or pass --results-dir where the results should go.',
      });
    }
  }
}

/** Turns orchestrator progress into view updates; finished results arrive in memory with their figures. */
function progressRelay(
  plan: StudyPlan,
  view: ProgressView,
  results: Map<string, ExperimentResult>,
  labels: ReadonlyMap<string, string>,
): (event: ProgressEvent) => void {
  const runs = new Map(plan.runs.map((run) => [run.experimentId, run]));
  const started = new Map<string, number>();
  return (event) => {
    view.event(event);
    if (event.type === 'run-start') started.set(event.experimentId, Date.now());
    if (event.type === 'result') results.set(event.experimentId, event.result);
    if (event.type !== 'step') return;
    const status = event.step as RunFinished['status'];
    if (!['done', 'reused', 'failed', 'interrupted', 'busy'].includes(status)) return;
    const t0 = started.get(event.experimentId);
    const run = runs.get(event.experimentId);
    const result = status === 'done' || status === 'reused' ? results.get(event.experimentId) : undefined;
    const headline = result ? headlineEnergy(result.energy) : null;
    view.finished({
      experimentId: event.experimentId,
      position: run?.position ?? 0,
      label: labels.get(event.experimentId) ?? event.experimentId,
      cycle: run?.cycle ?? null,
      status,
      seconds: t0 === undefined ? null : (Date.now() - t0) / 1000,
      energyJ: headline?.joules ?? null,
      energyBasis: headline?.basis ?? null,
      energyPerOutputTokenJ: result ? metricValue(result, 'energy_per_output_token_j') : null,
      outputTokensPerS: result ? metricValue(result, 'output_tokens_per_s') : null,
      resultPath: status === 'done' || status === 'reused' ? (event.detail ?? null) : null,
      ...(status === 'failed' || status === 'busy' ? { error: event.detail } : {}),
    });
  };
}

/** A path for messages: relative when under the current directory, else absolute. */
export function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

function report(
  summary: StudySummary,
  plan: StudyPlan,
  byId: ReadonlyMap<string, ExperimentResult>,
  labels: ReadonlyMap<string, string>,
  out: Output,
): number {
  // In plan order, from memory: the executor handed each result over as it finished.
  const results = summary.runs.flatMap((run) => {
    const result = byId.get(run.experimentId);
    return result ? [result] : [];
  });
  const c = summary.counts;
  const failedRuns = summary.runs.filter((r) => r.status === 'failed' || r.status === 'busy');
  const code = summary.interrupted ? 130 : failedRuns.length > 0 ? 1 : 0;
  const swept = [...new Set(plan.experiments.flatMap((e) => Object.keys(e.assignments)))];
  if (out.json) {
    for (const run of summary.runs)
      if ((run.status === 'done' || run.copiedFrom) && run.resultPath)
        out.fileWritten(run.resultPath, 'result');
    const files = summaryFiles(summary, plan);
    for (const file of files) out.fileWritten(file.path, file.role);
    out.record({
      type: 'summary',
      exitCode: code,
      ...summaryRecord(summary, byId, results, swept, labels, files),
    });
    return code;
  }
  out.line('');
  if (results.length > 0) out.line(resultsTable(results, { swept }));
  const seconds = (Date.parse(summary.finishedUtc) - Date.parse(summary.startedUtc)) / 1000;
  out.line(
    `${plan.kind === 'study' ? `Study ${summary.studyId}` : 'Experiment'}: ${c.done} measured, ${c.reused} reused, ${c.failed} failed` +
      `${c.busy ? `, ${c.busy} busy` : ''}${c.interrupted || c['not-run'] ? `, ${c.interrupted + c['not-run']} not run` : ''} of ${c.total} in ${duration(seconds)}`,
  );
  // Failures are listed, never dropped from the summary.
  for (const run of failedRuns)
    out.line(
      `  ${run.status}: ${labels.get(run.experimentId) ?? run.label}${run.cycle !== null ? ` (cycle ${run.cycle})` : ''}: ${run.error ?? ''}`,
    );
  const copied = summary.runs.filter((run) => run.copiedFrom);
  if (copied.length > 0) {
    const from = [...new Set(copied.map((run) => shownPath(dirname(run.copiedFrom!))))];
    out.line(
      `  ${copied.length} reused result(s) copied into this results directory from ${from.join(', ')}`,
    );
  }
  for (const warning of summary.warnings) out.line(`  warning: ${warning}`);
  const dir = shownPath(summary.studyDir);
  out.line(
    `Results: ${dir}${summary.tableFiles ? `  (table: ${Object.values(summary.tableFiles).join(', ')})` : ''}`,
  );
  if (results.length > new Set(results.map((r) => r.config_hash)).size)
    out.line(`Per cycle: llem results show ${dir} --per-cycle`);
  if (results.length > 0) out.line(`Report:  llem results report ${dir}`);
  if (summary.interrupted)
    out.line('Interrupted: run the same command again to measure only what is missing.');
  return code;
}

/** The files a study wrote besides its results: study.json and the study tables (absolute paths). */
function summaryFiles(summary: StudySummary, plan: StudyPlan): { path: string; role: string }[] {
  if (plan.kind !== 'study') return [];
  return [
    ...(existsSync(join(summary.studyDir, 'study.json'))
      ? [{ path: join(summary.studyDir, 'study.json'), role: 'study-summary' }]
      : []),
    ...Object.values(summary.tableFiles ?? {}).map((name) => ({
      path: join(summary.studyDir, name),
      role: 'study-table',
    })),
  ];
}

/** The `summary` JSON line: the study summary, every run with its metrics, and one entry per config (mean ± CI). */
function summaryRecord(
  summary: StudySummary,
  byId: ReadonlyMap<string, ExperimentResult>,
  results: readonly ExperimentResult[],
  swept: readonly string[],
  labels: ReadonlyMap<string, string>,
  files: readonly { path: string; role: string }[],
): Record<string, unknown> {
  const { 'not-run': notRun, ...counts } = summary.counts;
  return {
    kind: summary.kind,
    studyId: summary.studyId,
    name: summary.name,
    designHash: summary.designHash,
    studyDir: summary.studyDir,
    startedUtc: summary.startedUtc,
    finishedUtc: summary.finishedUtc,
    interrupted: summary.interrupted,
    counts: { ...counts, notRun },
    runs: summary.runs.map((run) => {
      const result = byId.get(run.experimentId);
      return {
        ...run,
        shortLabel: labels.get(run.experimentId) ?? run.label,
        metrics: result ? resultMetrics(result) : null,
      };
    }),
    configs: configRecords(results, tableParameters(results, swept)),
    duplicates: summary.duplicates,
    files: files.map((f) => f.path),
    warnings: summary.warnings,
  };
}

/** --dry-run: the plan (experiments, hashes, launch commands, estimated time). Runs and writes nothing. */
async function printDryRun(
  plan: StudyPlan,
  backends: BackendCatalog,
  settings: Settings,
  launch: LaunchMode | undefined,
  out: Output,
): Promise<number> {
  const scratch = await mkdtemp(join(tmpdir(), 'llem-dry-run-'));
  const experiments = [];
  let totalSeconds = 0;
  try {
    for (const experiment of plan.experiments) {
      const plugin = backends.get(experiment.config.backend)!;
      const mode = launchModeFor(experiment.config, plugin, launch);
      let command: string;
      try {
        const launchPlan = await plugin.prepare({
          config: experiment.config,
          section: experiment.config[experiment.config.backend],
          configHash: experiment.configHash,
          experimentId: `dry-run-${experiment.configHash}`,
          workDir: scratch,
          launch: mode,
        });
        command = (launchPlan.description ?? launchPlan.spec.argv.join(' ')).replaceAll(
          scratch,
          '<work-dir>',
        );
        for (const path of launchPlan.cleanupPaths ?? []) await rm(path, { force: true });
      } catch (error) {
        command = `(cannot prepare: ${messageOf(error).split('\n')[0]})`;
      }
      const cyclesOf = plan.runs.filter((r) => r.experimentIndex === experiment.index).length;
      const seconds = estimateSeconds(experiment, backends);
      if (seconds !== null) totalSeconds += seconds * cyclesOf;
      experiments.push({
        label: experiment.label,
        configHash: experiment.configHash,
        launch: mode,
        command,
        runs: cyclesOf,
        estimatedSeconds: seconds,
      });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const gaps =
    Math.max(0, plan.runs.length - 1) * plan.gaps.experiment_seconds +
    (plan.cycles > 1 && plan.order !== 'sequential' ? (plan.cycles - 1) * plan.gaps.cycle_seconds : 0);
  totalSeconds += gaps;
  const resultsDir = studyDirFor(settings.resultsDir.value, plan.studyId);
  if (out.json) {
    out.record({
      type: 'plan',
      kind: plan.kind,
      studyId: plan.studyId,
      designHash: plan.designHash,
      cycles: plan.cycles,
      order: plan.order,
      runs: plan.runs,
      experiments,
      duplicates: plan.duplicates,
      estimatedSeconds: totalSeconds,
      resultsDir,
    });
    return 0;
  }
  if (plan.kind === 'study') {
    out.line(`Study ${plan.studyId} (design hash ${plan.designHash})`);
    out.line(
      `  ${plan.experiments.length} experiment(s) x ${plan.cycles} cycle(s), order ${plan.order} = ${plan.runs.length} run(s)`,
    );
  }
  for (const e of experiments) {
    out.line(`- ${e.label}`);
    out.line(
      `    hash ${e.configHash}   runs ${e.runs}   launch ${e.launch}   ~${e.estimatedSeconds === null ? '?' : duration(e.estimatedSeconds)} each`,
    );
    out.line(`    $ ${e.command}`);
  }
  for (const d of plan.duplicates)
    out.line(`note: ${d.origin} is the same experiment as ${d.duplicateOf} (measured once)`);
  out.line(`Estimated time: ~${duration(totalSeconds)}${gaps ? ` (incl. ${duration(gaps)} of gaps)` : ''}`);
  out.line(`Results would go to ${shownPath(resultsDir)}`);
  out.line('Dry run: nothing was run and nothing was written. Run without --dry-run to start.');
  return 0;
}
