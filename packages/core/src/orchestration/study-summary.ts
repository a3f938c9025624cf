import { join } from 'node:path';
import { messageOf } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import type { ExperimentResult } from '../results/experiment-result.js';
import { writeStudyTable } from '../results/study-table.js';
import type { RunStatus } from './experiment-orchestrator.js';
import type { StudyDuplicate, StudyPlan } from './study-plan.js';

/**
 * A study's summary, however its runs were executed (here, or as Slurm jobs): one entry per
 * planned run, the counts by status, and study.json beside the results.
 */

export type StudyRunStatus = RunStatus | 'interrupted' | 'not-run';

export interface StudyRunEntry {
  position: number;
  experimentId: string;
  configHash: string;
  cycle: number | null;
  label: string;
  status: StudyRunStatus;
  attempt: number | null;
  resultPath: string | null;
  /** A reused result copied into this results directory from another one: where it came from. */
  copiedFrom?: string | null;
  error: string | null;
  /** Seconds of gap and cooldown actually waited before this run (null: none planned). */
  gapBeforeS: number | null;
  durationS: number | null;
}

export interface StudySummary {
  kind: StudyPlan['kind'];
  studyId: string | null;
  name: string | null;
  designHash: string | null;
  studyDir: string;
  startedUtc: string;
  finishedUtc: string;
  /** True when a signal stopped the study: the CLI exits 130. */
  interrupted: boolean;
  counts: Record<StudyRunStatus, number> & { total: number };
  runs: StudyRunEntry[];
  duplicates: StudyDuplicate[];
  /** Files written by writeStudyTable, relative to studyDir. */
  tableFiles: Record<string, string> | null;
  warnings: string[];
}

export const STUDY_SUMMARY_FILE = 'study.json';

/** Counts the runs of a study by status. */
export interface FinishStudyParts {
  plan: StudyPlan;
  studyDir: string;
  startedUtc: string;
  finishedUtc: string;
  interrupted: boolean;
  entries: StudyRunEntry[];
  results: readonly ExperimentResult[];
  /** Appended to: a study table that cannot be written is a warning, not a failure. */
  warnings: string[];
  writeTable: boolean;
}

/**
 * The end of a study, however its runs were executed: the study tables (when asked), the summary,
 * and study.json beside them.
 */
export async function finishStudy(parts: FinishStudyParts): Promise<StudySummary> {
  const { plan, studyDir, results, warnings } = parts;
  let tableFiles: Record<string, string> | null = null;
  if (plan.kind === 'study' && parts.writeTable && results.length > 0) {
    try {
      tableFiles = await writeStudyTable(studyDir, results);
    } catch (error) {
      warnings.push(`study table not written: ${messageOf(error)}`);
    }
  }
  const summary: StudySummary = {
    kind: plan.kind,
    studyId: plan.studyId,
    name: plan.name,
    designHash: plan.designHash,
    studyDir,
    startedUtc: parts.startedUtc,
    finishedUtc: parts.finishedUtc,
    interrupted: parts.interrupted,
    counts: countRunStatuses(parts.entries),
    runs: parts.entries,
    duplicates: plan.duplicates,
    tableFiles,
    warnings,
  };
  if (plan.kind === 'study') await writeStudySummary(studyDir, plan, summary);
  return summary;
}

/** One `not-run` entry per planned run, in plan order: the starting point of a study summary. */
export function notRunEntries(plan: StudyPlan): StudyRunEntry[] {
  return plan.runs.map((run) => ({
    position: run.position,
    experimentId: run.experimentId,
    configHash: run.configHash,
    cycle: run.cycle,
    label: plan.experiments[run.experimentIndex]!.label,
    status: 'not-run',
    attempt: null,
    resultPath: null,
    error: null,
    gapBeforeS: null,
    durationS: null,
  }));
}

export function countRunStatuses(entries: readonly StudyRunEntry[]): StudySummary['counts'] {
  const counts = {
    total: entries.length,
    done: 0,
    reused: 0,
    failed: 0,
    busy: 0,
    interrupted: 0,
    'not-run': 0,
  } as StudySummary['counts'];
  for (const entry of entries) counts[entry.status] += 1;
  return counts;
}

/** Writes `<studyDir>/study.json` (the plan and its summary); a failure becomes a summary warning. */
export async function writeStudySummary(
  studyDir: string,
  plan: StudyPlan,
  summary: StudySummary,
): Promise<void> {
  const document = {
    schema: 'llem.study/1',
    source: plan.source,
    cycles: plan.cycles,
    order: plan.order,
    shuffle_seed: plan.shuffleSeed,
    gaps: plan.gaps,
    experiments: plan.experiments.map((e) => ({
      index: e.index,
      origin: e.origin,
      label: e.label,
      config_hash: e.configHash,
      assignments: e.assignments,
    })),
    summary,
  };
  try {
    await writeFileAtomic(join(studyDir, STUDY_SUMMARY_FILE), `${JSON.stringify(document, null, 2)}\n`);
  } catch (error) {
    summary.warnings.push(`${STUDY_SUMMARY_FILE} not written: ${messageOf(error)}`);
  }
}
