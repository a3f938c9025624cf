import { join } from 'node:path';
import type {
  Clock,
  ExperimentResult,
  LaunchMode,
  PlannedRun,
  ProgressListener,
  RunStep,
  StateStore,
  StudyPlan,
  StudyRunEntry,
} from '@llem/core';
import { emitProgress, notRunEntries } from '@llem/core/orchestration';
import { RESULT_FILE_NAME, readResultFile } from '@llem/core/results';
import type { SlurmJobShape } from './job-shape.js';
import type { SlurmCommands } from './slurm-commands.js';

/** Where the submitter keeps exec files, the batch script and the jobs' output (under the study dir). */
export const SLURM_DIR_NAME = '.llem-slurm';

/** What every step of a study on Slurm works with: the parts, and where the study lives. */
export interface SlurmStudyContext {
  plan: StudyPlan;
  store: StateStore;
  /** The store's name and directory, as `llem exec` on a compute node opens it. */
  storeLocation: { name: string; dir: string };
  shape: SlurmJobShape;
  slurm: SlurmCommands;
  clock: Clock;
  /** The argv that starts llem on a compute node; `exec <file> --index i` follows. */
  llemCommand: readonly string[];
  /** Plugin modules the jobs load (absolute paths or package names). */
  plugins: readonly string[];
  launch: LaunchMode | undefined;
  force: boolean;
  /** `<resultsDir>/<study-id>/`: result directories and study.json. */
  studyDir: string;
  /** `<studyDir>/.llem-slurm/`: exec files, job script, job output. */
  slurmDir: string;
  /** When this `llem run` began (ISO UTC): `force` remeasures only states created before it. */
  startedUtc: string;
}

/** A run whose Slurm job is being followed. */
export interface Tracked {
  run: PlannedRun;
  entry: StudyRunEntry;
  jobId: string;
  /** The job state squeue last reported. */
  lastState: string | null;
  /** When it was submitted or started running (ms since the epoch), for the entry's duration. */
  t0: number;
}

/**
 * The record of one study on Slurm as it goes: the summary entries (one per planned run), the
 * results for the tables, the warnings, the jobs being followed, and the progress events that
 * tell whoever watches. Every step writes here; `finishStudy` reads it at the end.
 */
export class SlurmStudyRecord {
  readonly entries: StudyRunEntry[];
  readonly results: ExperimentResult[] = [];
  readonly warnings: string[] = [];
  /** Runs whose job is queued or running, by experiment id. */
  readonly tracked = new Map<string, Tracked>();

  constructor(
    private readonly plan: StudyPlan,
    private readonly onProgress: ProgressListener | undefined,
  ) {
    this.entries = notRunEntries(plan);
  }

  entry(run: PlannedRun): StudyRunEntry {
    return this.entries[run.position]!;
  }

  step(run: PlannedRun, name: RunStep, detail?: string): void {
    emitProgress(this.onProgress, { type: 'step', experimentId: run.experimentId, step: name, detail });
  }

  /** A result goes into the tables and, in memory, to whoever follows the progress. */
  keep(run: PlannedRun, result: ExperimentResult | null): void {
    if (!result) return;
    this.results.push(result);
    emitProgress(this.onProgress, { type: 'result', experimentId: run.experimentId, result });
  }

  /** Follows a run's job from now on: the run has started, as far as the study is concerned. */
  track(run: PlannedRun, jobId: string): void {
    const entry = this.entry(run);
    this.tracked.set(run.experimentId, { run, entry, jobId, lastState: null, t0: Date.now() });
    emitProgress(this.onProgress, {
      type: 'run-start',
      experimentId: run.experimentId,
      position: run.position,
      total: this.plan.runs.length,
      label: entry.label,
      cycle: run.cycle,
    });
  }
}

/** Where a run's result.json is (or will be). */
export function resultPathOf(ctx: Pick<SlurmStudyContext, 'studyDir'>, run: PlannedRun): string {
  return join(ctx.studyDir, run.resultDirName, RESULT_FILE_NAME);
}

/** The valid result at `path`, or null (absent, unreadable or not a result: core's one reader decides). */
export async function committedResult(path: string): Promise<ExperimentResult | null> {
  const read = await readResultFile(path);
  return read && 'result' in read ? read.result : null;
}
