import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import {
  ConfigError,
  didYouMean,
  type ExperimentPhase,
  type ExperimentState,
  isCorruptRecordError,
  type StateFilter,
  StateStoreError,
  staleVerdict,
  systemClock,
} from '@llem/core';
import { adoptCommittedResults, studyDirFor } from '@llem/core/orchestration';
import Table from 'cli-table3';
import { createRegistry, openStore } from '../compose.js';
import type { Output } from '../output.js';
import { resolveSettings } from '../settings.js';
import { compactLabels } from '../view/labels.js';

export interface StoreFlags {
  store?: string;
  stateDir?: string;
}

export interface StatusFlags extends StoreFlags {
  study?: string;
  phase?: ExperimentPhase;
  failed?: boolean;
  resultsDir?: string;
}

/**
 * One study's row: `experiments` are configs (distinct config hashes), `runs` experiment-cycles.
 * `runs` and `notStarted` come from the study's study.json when it is there (the plan); without
 * it only the runs the store has seen are known and `notStarted` is null.
 */
export interface StudyStatusRow {
  studyId: string | null;
  experiments: number;
  runs: number;
  done: number;
  failed: number;
  measuring: number;
  /** Measuring, but its process is gone: `llem cleanup` marks it failed so the next run measures it again. */
  stale: number;
  /** Claimed, not yet measuring. */
  waiting: number;
  notStarted: number | null;
  lastUpdated: string;
}

/** What status knows of a study's plan (its study.json): the planned runs and each config's label. */
export interface StudyPlanInfo {
  runs: number;
  experiments: number;
  /** Compact label (the swept values) by config hash. */
  labels: Map<string, string>;
}

export function summariseStudies(
  states: readonly ExperimentState[],
  stale: ReadonlySet<string> = new Set(),
  plans: ReadonlyMap<string, StudyPlanInfo> = new Map(),
): StudyStatusRow[] {
  const byStudy = new Map<string | null, StudyStatusRow & { hashes: Set<string> }>();
  for (const state of states) {
    const summary = byStudy.get(state.studyId) ?? {
      studyId: state.studyId,
      experiments: 0,
      runs: 0,
      done: 0,
      failed: 0,
      measuring: 0,
      stale: 0,
      waiting: 0,
      notStarted: null,
      lastUpdated: state.lastUpdated,
      hashes: new Set<string>(),
    };
    summary.runs++;
    summary.hashes.add(state.configHash ?? state.experimentId);
    if (state.failed) summary.failed++;
    else if (stale.has(state.experimentId)) summary.stale++;
    else if (state.phase === 'done') summary.done++;
    else if (state.phase === 'measuring') summary.measuring++;
    else summary.waiting++;
    if (state.lastUpdated > summary.lastUpdated) summary.lastUpdated = state.lastUpdated;
    byStudy.set(state.studyId, summary);
  }
  return [...byStudy.values()]
    .map(({ hashes, ...summary }) => {
      const plan = summary.studyId === null ? undefined : plans.get(summary.studyId);
      if (!plan) return { ...summary, experiments: hashes.size };
      const runs = Math.max(plan.runs, summary.runs);
      return {
        ...summary,
        experiments: Math.max(plan.experiments, hashes.size),
        runs,
        notStarted: runs - summary.runs,
      };
    })
    .sort((a, b) => b.lastUpdated.localeCompare(a.lastUpdated));
}

/** The study's plan from `<results dir>/<study id>/study.json`, when it is there and readable. */
function readStudyPlan(resultsDir: string, studyId: string): StudyPlanInfo | null {
  try {
    const study = JSON.parse(readFileSync(join(studyDirFor(resultsDir, studyId), 'study.json'), 'utf8')) as {
      experiments?: { label?: string; config_hash?: string; assignments?: Record<string, unknown> }[];
      summary?: { runs?: unknown[] };
    };
    const experiments = (study.experiments ?? []).filter(
      (e): e is { label: string; config_hash: string; assignments?: Record<string, unknown> } =>
        typeof e.label === 'string' && typeof e.config_hash === 'string',
    );
    const short = compactLabels(
      experiments.map((e) => ({ label: e.label, assignments: e.assignments ?? {} })),
    );
    return {
      runs: study.summary?.runs?.length ?? 0,
      experiments: experiments.length,
      labels: new Map(experiments.map((e, i) => [e.config_hash, short[i] ?? e.label])),
    };
  } catch {
    return null;
  }
}

/** A config label for a state without a study plan: model and backend from its committed result. */
function labelFromResult(state: ExperimentState): string | null {
  if (!state.resultPath || !existsSync(state.resultPath)) return null;
  try {
    const result = JSON.parse(readFileSync(state.resultPath, 'utf8')) as {
      model?: string;
      config?: { backend?: string };
    };
    return [result.model, result.config?.backend].filter((x) => typeof x === 'string').join(' ') || null;
  } catch {
    return null;
  }
}

/** What each executor named on the states says of its jobs (an executor that is not installed says nothing). */
async function schedulerStates(
  states: readonly ExperimentState[],
  settings: Parameters<typeof createRegistry>[0],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const names = new Set(states.flatMap((s) => (s.scheduler ? [s.scheduler.name] : [])));
  if (names.size === 0) return out;
  const registry = createRegistry(settings);
  for (const name of names) {
    try {
      const executor = await registry.get('executor', name);
      const found = await executor.jobStates?.(states.filter((s) => s.scheduler?.name === name));
      for (const [id, state] of found ?? []) out.set(id, state);
    } catch {
      // Status stays readable where the executor is missing: the recorded job ids are still shown.
    }
  }
  return out;
}

const CLEANUP_HINT =
  'run `llem cleanup` to mark them failed (stale); the next `llem run` of the same file measures them again.';

/** `llem status`: every study and experiment in the state store. */
export async function statusCommand(flags: StatusFlags, out: Output): Promise<number> {
  const settings = resolveSettings({
    store: flags.store,
    stateDir: flags.stateDir,
    resultsDir: flags.resultsDir,
  });
  const store = await openStore(settings);
  const corrupt: string[] = [];
  try {
    const filter: StateFilter = {};
    if (flags.study) filter.studyId = flags.study;
    const found = (await store.list(filter, { onCorrupt: (error) => corrupt.push(error.message) })).sort(
      (a, b) => (a.studyId ?? '').localeCompare(b.studyId ?? '') || a.createdAt.localeCompare(b.createdAt),
    );
    if (flags.study && found.length === 0) throw await unknownStudy(flags.study, store, settings);
    const stale = new Set(
      found.filter((s) => !s.scheduler && staleVerdict(s).stale).map((s) => s.experimentId),
    );
    const states = found.filter(
      (s) => (!flags.phase || s.phase === flags.phase) && (!flags.failed || s.failed),
    );
    const plans = new Map<string, StudyPlanInfo>();
    for (const id of new Set(found.flatMap((s) => (s.studyId === null ? [] : [s.studyId])))) {
      const plan = readStudyPlan(settings.resultsDir.value, id);
      if (plan) plans.set(id, plan);
    }
    const labelOf = (s: ExperimentState) =>
      (s.studyId !== null && s.configHash !== null
        ? plans.get(s.studyId)?.labels.get(s.configHash)
        : undefined) ?? labelFromResult(s);
    const studies = summariseStudies(flags.phase || flags.failed ? states : found, stale, plans);
    // Jobs of an executor (Slurm): the scheduler's own state beside llem's phase.
    const jobs = await schedulerStates(states, settings);
    if (out.json) {
      out.record({
        type: 'status',
        store: settings.store.value,
        stateDir: settings.stateDir.value,
        studies,
        experiments: states.map((s) => ({ ...s, label: labelOf(s), stale: stale.has(s.experimentId) })),
        jobStates: Object.fromEntries(jobs),
        corrupt,
      });
      return 0;
    }
    if (found.length === 0) {
      out.line(`No experiments in the ${settings.store.value} store at ${settings.stateDir.value}.`);
    } else if (states.length === 0) {
      out.line(
        `No experiments match${flags.phase ? ` --phase ${flags.phase}` : ''}${flags.failed ? ' --failed' : ''}.`,
      );
    } else {
      const studyTable = new Table({
        head: [
          'study',
          'experiments',
          'runs',
          'done',
          'failed',
          'measuring',
          'stale',
          'waiting',
          'not started',
          'last update (UTC)',
        ],
        style: { head: [], border: [] },
      });
      for (const s of studies)
        studyTable.push([
          s.studyId ?? '(single)',
          s.experiments,
          s.runs,
          s.done,
          s.failed,
          s.measuring,
          s.stale,
          s.waiting,
          s.notStarted ?? '?',
          s.lastUpdated,
        ]);
      out.line(studyTable.toString());
      out.line('experiments: configs; runs: experiment-cycles (experiments x cycles).');
      const table = new Table({
        head: ['experiment', 'config', 'phase', 'failed', 'attempt', 'cycle', 'job', 'error'],
        wordWrap: true,
        style: { head: [], border: [] },
        colWidths: [null, null, null, null, null, null, null, 50] as never,
      });
      for (const s of states) {
        table.push([
          s.experimentId,
          labelOf(s) ?? '-',
          stale.has(s.experimentId) ? 'stale' : s.phase,
          s.failed ? (s.failureKind ?? 'yes') : 'no',
          s.attempt,
          s.cycle ?? '',
          s.scheduler
            ? `${s.scheduler.name} ${s.scheduler.jobId}${jobs.has(s.experimentId) ? ` ${jobs.get(s.experimentId)}` : ''}`
            : '',
          s.errorMessage ?? (stale.has(s.experimentId) ? 'its process is gone' : ''),
        ]);
      }
      out.line(table.toString());
      if (studies.some((s) => s.notStarted === null && s.studyId !== null))
        out.line('not started ?: the study has no study.json in the results directory yet (--results-dir).');
      const staleShown = states.filter((s) => stale.has(s.experimentId)).length;
      if (staleShown > 0)
        out.line(`${staleShown} run(s) are stale (measuring, but the process is gone): ${CLEANUP_HINT}`);
    }
    for (const message of corrupt) out.info(`warning: ${message}`);
    return 0;
  } finally {
    await store.close();
  }
}

/** `--study ID` that the store does not hold: a usage error naming the studies it does hold. */
async function unknownStudy(
  studyId: string,
  store: Awaited<ReturnType<typeof openStore>>,
  settings: ReturnType<typeof resolveSettings>,
): Promise<ConfigError> {
  const all = await store.list({}, { onCorrupt: () => {} });
  const ids = [...new Set(all.flatMap((s) => (s.studyId === null ? [] : [s.studyId])))];
  const where = `the ${settings.store.value} store at ${settings.stateDir.value}`;
  const fix =
    ids.length === 0
      ? `${where} holds no studies; pass --state-dir (or --store) for another store, or drop --study.`
      : `Pick one of the studies ${where} holds: ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? `, ... (${ids.length} in all)` : ''}; \`llem status\` lists them.`;
  const suggestion = didYouMean(studyId, ids);
  return new ConfigError(
    `--study: no study '${studyId}' in ${where}${suggestion ? ` (did you mean '${suggestion}'?)` : ''}.`,
    { fix },
  );
}

/** `llem cleanup`: marks stale `measuring` states (process gone) failed. */
export interface CleanupFlags extends StoreFlags {
  quarantine?: boolean;
}

export async function cleanupCommand(flags: CleanupFlags, out: Output): Promise<number> {
  const settings = resolveSettings({ store: flags.store, stateDir: flags.stateDir });
  const store = await openStore(settings);
  try {
    const corrupt: StateStoreError[] = [];
    await store.list({}, { onCorrupt: (error) => corrupt.push(error as StateStoreError) });
    const quarantined: { id: string; to: string }[] = [];
    if (flags.quarantine) {
      if (!store.quarantine) throw new StateStoreError(`The ${store.name} store cannot quarantine records.`);
      for (const error of corrupt) {
        if (isCorruptRecordError(error) && error.recordId) {
          quarantined.push({ id: error.recordId, to: await store.quarantine(error.recordId) });
        }
      }
    }
    // A stale attempt that committed its result is done, not failed: adopt those first.
    const adopted = await adoptCommittedResults(store, systemClock);
    const ids = await store.cleanupStale();
    const unreadable = corrupt.filter(
      (e) => !quarantined.some((q) => isCorruptRecordError(e) && q.id === e.recordId),
    );
    if (out.json) {
      // A record moved aside into a file (the fs store; SQLite keeps it in a table) is a file written.
      for (const q of quarantined)
        if (isAbsolute(q.to) && existsSync(q.to)) out.fileWritten(q.to, 'quarantine');
      out.record({
        type: 'cleanup',
        adopted,
        stale: ids,
        quarantined,
        unreadable: unreadable.map((e) => e.message),
      });
      return 0;
    }
    if (adopted.length > 0) {
      out.line(
        `Adopted ${adopted.length} result(s) committed before llem stopped (now done, not measured again):`,
      );
      for (const id of adopted) out.line(`  ${id}`);
    }
    if (ids.length === 0) out.line('No stale experiments.');
    else {
      out.line(`Marked ${ids.length} stale experiment(s) failed:`);
      for (const id of ids) out.line(`  ${id}`);
    }
    for (const q of quarantined) out.line(`Quarantined corrupt record ${q.id} -> ${q.to}`);
    for (const error of unreadable) out.line(`Unreadable: ${error.message}`);
    if (unreadable.length > 0 && !flags.quarantine)
      out.line('Run `llem cleanup --quarantine` to move corrupt records aside.');
    return 0;
  } finally {
    await store.close();
  }
}
