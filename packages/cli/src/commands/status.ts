import {
  type ExperimentPhase,
  type ExperimentState,
  isCorruptRecordError,
  type StateFilter,
  StateStoreError,
  systemClock,
} from '@llem/core';
import { adoptCommittedResults } from '@llem/core/orchestration';
import Table from 'cli-table3';
import { createRegistry, openStore } from '../compose.js';
import type { Output } from '../output.js';
import { resolveSettings } from '../settings.js';

export interface StoreFlags {
  store?: string;
  stateDir?: string;
}

export interface StatusFlags extends StoreFlags {
  study?: string;
  phase?: ExperimentPhase;
  failed?: boolean;
}

export interface StudySummary {
  studyId: string | null;
  total: number;
  done: number;
  failed: number;
  measuring: number;
  initialising: number;
  lastUpdated: string;
}

export function summariseStudies(states: readonly ExperimentState[]): StudySummary[] {
  const byStudy = new Map<string | null, StudySummary>();
  for (const state of states) {
    const summary = byStudy.get(state.studyId) ?? {
      studyId: state.studyId,
      total: 0,
      done: 0,
      failed: 0,
      measuring: 0,
      initialising: 0,
      lastUpdated: state.lastUpdated,
    };
    summary.total++;
    if (state.failed) summary.failed++;
    else summary[state.phase === 'done' ? 'done' : state.phase]++;
    if (state.lastUpdated > summary.lastUpdated) summary.lastUpdated = state.lastUpdated;
    byStudy.set(state.studyId, summary);
  }
  return [...byStudy.values()].sort((a, b) => b.lastUpdated.localeCompare(a.lastUpdated));
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

/** `llem status`: every study and experiment in the state store. */
export async function statusCommand(flags: StatusFlags, out: Output): Promise<number> {
  const settings = resolveSettings({ store: flags.store, stateDir: flags.stateDir });
  const store = await openStore(settings);
  const corrupt: string[] = [];
  try {
    const filter: StateFilter = {};
    if (flags.study) filter.studyId = flags.study;
    if (flags.phase) filter.phase = flags.phase;
    if (flags.failed) filter.failed = true;
    const states = (await store.list(filter, { onCorrupt: (error) => corrupt.push(error.message) })).sort(
      (a, b) => (a.studyId ?? '').localeCompare(b.studyId ?? '') || a.createdAt.localeCompare(b.createdAt),
    );
    const studies = summariseStudies(states);
    // Jobs of an executor (Slurm): the scheduler's own state beside llem's phase.
    const jobs = await schedulerStates(states, settings);
    if (out.json) {
      out.record({
        type: 'status',
        store: settings.store.value,
        stateDir: settings.stateDir.value,
        studies,
        experiments: states,
        jobStates: Object.fromEntries(jobs),
        corrupt,
      });
      return 0;
    }
    if (states.length === 0) {
      out.line(`No experiments in the ${settings.store.value} store at ${settings.stateDir.value}.`);
    } else {
      const studyTable = new Table({
        head: ['study', 'experiments', 'done', 'failed', 'measuring', 'waiting', 'last update (UTC)'],
        style: { head: [], border: [] },
      });
      for (const s of studies)
        studyTable.push([
          s.studyId ?? '(single)',
          s.total,
          s.done,
          s.failed,
          s.measuring,
          s.initialising,
          s.lastUpdated,
        ]);
      out.line(studyTable.toString());
      const table = new Table({
        head: ['experiment', 'phase', 'failed', 'attempt', 'cycle', 'job', 'error'],
        wordWrap: true,
        style: { head: [], border: [] },
        colWidths: [null, null, null, null, null, null, 50] as never,
      });
      for (const s of states) {
        table.push([
          s.experimentId,
          s.phase,
          s.failed ? (s.failureKind ?? 'yes') : 'no',
          s.attempt,
          s.cycle ?? '',
          s.scheduler
            ? `${s.scheduler.name} ${s.scheduler.jobId}${jobs.has(s.experimentId) ? ` ${jobs.get(s.experimentId)}` : ''}`
            : '',
          s.errorMessage ?? '',
        ]);
      }
      out.line(table.toString());
    }
    for (const message of corrupt) out.info(`warning: ${message}`);
    return 0;
  } finally {
    await store.close();
  }
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
