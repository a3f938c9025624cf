import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Clock, isoUtc } from '../clock.js';
import type { Logger } from '../di/logger.js';
import { isInterruptedError } from '../errors.js';
import type { ExecuteOptions, ExecutorContext, StudyExecutor } from '../plugins/executor.js';
import type { ExperimentResult } from '../results/experiment-result.js';
import { RESULT_FILE_NAME } from '../results/read-results.js';
import { isComplete } from '../state/experiment-state.js';
import { ownerVerdict } from '../state/liveness.js';
import type { StateStore } from '../state/store.js';
import { attemptIsOver, inspectCommittedResult, inspectResultFor } from './adopt.js';
import { forces } from './claim.js';
import type { RunReport } from './experiment-orchestrator.js';
import { studyDirFor } from './naming.js';
import { emitProgress } from './progress.js';
import { interruptibleSleep } from './sleep.js';
import type { PlannedRun, StudyPlan } from './study-plan.js';
import { finishStudy, notRunEntries, type StudySummary } from './study-summary.js';

/**
 * The `local` executor: runs a StudyPlan's runs one after another in this process, with gaps and
 * cool-downs, resuming by state: completed runs are reused (unless `force`), committed results
 * adopted, failed and interrupted runs retried, runs another llem process holds skipped as `busy`.
 * Never throws for a failed run; an interrupt ends the loop and the summary says `interrupted`.
 */
export class LocalExecutor implements StudyExecutor {
  readonly name = 'local';

  async run(plan: StudyPlan, context: ExecutorContext, options: ExecuteOptions = {}): Promise<StudySummary> {
    return new LocalStudyRun(plan, context, options).run();
  }
}

/** One study run by the local executor (its loop state and its pauses). */
class LocalStudyRun {
  private readonly store: StateStore;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(
    private readonly plan: StudyPlan,
    private readonly context: ExecutorContext,
    private readonly options: ExecuteOptions,
  ) {
    this.store = context.store;
    this.clock = context.clock;
    this.logger = context.logger;
  }

  async run(): Promise<StudySummary> {
    const { plan, options, context } = this;
    const { signal, onProgress } = options;
    const studyDir = studyDirFor(context.resultsDir, plan.studyId);
    await mkdir(studyDir, { recursive: true });
    const startedUtc = isoUtc(this.clock.now());
    const warnings: string[] = [];
    if (plan.order === 'sequential' && plan.gaps.cycle_seconds > 0 && plan.cycles > 1) {
      warnings.push(
        "gaps.cycle_seconds is not used with order: sequential (an experiment's cycles run back to back); use interleaved or shuffled.",
      );
    }
    const entries = notRunEntries(plan);
    const results: ExperimentResult[] = [];
    let interrupted = false;
    let previousMeasured: PlannedRun | null = null;
    let cooldownUnavailableWarned = false;

    for (const run of plan.runs) {
      if (signal?.aborted) {
        interrupted = true;
        break;
      }
      const entry = entries[run.position]!;
      const experiment = plan.experiments[run.experimentIndex]!;
      emitProgress(onProgress, {
        type: 'run-start',
        experimentId: run.experimentId,
        position: run.position,
        total: plan.runs.length,
        label: experiment.label,
        cycle: run.cycle,
      });

      // A run that will not be measured (done, or held by another process) costs no gap.
      let gapBeforeS: number | null = null;
      if (await this.willMeasure(run, studyDir, options.force ?? false, startedUtc)) {
        const waited = await this.pause(run, previousMeasured, () => {
          if (!cooldownUnavailableWarned)
            warnings.push(
              'gaps.cooldown is set but no GPU temperature source is available: cooldown skipped.',
            );
          cooldownUnavailableWarned = true;
        });
        gapBeforeS = waited;
        if (signal?.aborted) {
          interrupted = true;
          break;
        }
      }

      let report: RunReport;
      try {
        report = await context.experiments.run({
          config: experiment.config,
          configHash: run.configHash,
          experimentId: run.experimentId,
          studyId: plan.studyId,
          cycle: run.cycle,
          outputDir: studyDir,
          resultDirName: run.resultDirName,
          force: options.force,
          forceSince: startedUtc,
          reuseByHash: plan.kind === 'experiment',
          signal,
          onProgress,
          gapBeforeS,
          launch: options.launch,
        });
      } catch (error) {
        if (isInterruptedError(error)) {
          const state = await this.store.load(run.experimentId).catch(() => null);
          Object.assign(entry, {
            status: 'interrupted',
            error: 'interrupted',
            gapBeforeS,
            attempt: state?.attempt ?? null,
          });
          interrupted = true;
          break;
        }
        // Not a measurement failure (the store or the disk is broken): record it, go on.
        const message = error instanceof Error ? error.message : String(error);
        this.logger.warn(`${run.experimentId}: ${message}`);
        Object.assign(entry, { status: 'failed', error: message, gapBeforeS });
        continue;
      }
      Object.assign(entry, {
        status: report.status,
        attempt: report.attempt,
        resultPath: report.resultPath,
        ...(report.copiedFrom ? { copiedFrom: report.copiedFrom } : {}),
        error: report.error,
        gapBeforeS,
        durationS: report.durationS,
      });
      if (report.result) results.push(report.result);
      if (report.status === 'done' || report.status === 'failed') previousMeasured = run;
    }

    return finishStudy({
      plan,
      studyDir,
      startedUtc,
      finishedUtc: isoUtc(this.clock.now()),
      interrupted,
      entries,
      results,
      warnings,
      writeTable: options.writeTable ?? true,
    });
  }

  /** Quick look (no claim): will the orchestrator measure this run, or reuse / skip it? */
  private async willMeasure(
    run: PlannedRun,
    studyDir: string,
    force: boolean,
    forceSince: string,
  ): Promise<boolean> {
    const state = await this.store.load(run.experimentId);
    if (!state) {
      // A result without a state (the store was lost) is adopted, not measured.
      if (force) return true;
      const path = resolve(studyDir, run.resultDirName, RESULT_FILE_NAME);
      const owner = {
        experimentId: run.experimentId,
        configHash: run.configHash,
        cycle: run.cycle,
        attempt: null,
      };
      return (await inspectResultFor(path, owner)).kind !== 'own';
    }
    if (isComplete(state)) return forces({ force, forceSince }, state);
    if (!state.failed && !ownerVerdict(state, this.clock).stale) return false;
    // An attempt that committed its result before its llem died is adopted, not measured.
    return !(attemptIsOver(state, this.clock) && (await inspectCommittedResult(state)).kind === 'own');
  }

  /**
   * The pause before a measured run: the experiment gap after a previous measured run, plus the
   * cycle gap when a new cycle starts (interleaved/shuffled orders, where cycles are contiguous
   * blocks), then the cooldown. Returns the seconds actually waited, null if nothing was planned.
   */
  private async pause(
    run: PlannedRun,
    previous: PlannedRun | null,
    noTemperatures: () => void,
  ): Promise<number | null> {
    const { plan } = this;
    const { signal, onProgress } = this.options;
    const t0 = this.clock.monotonicNs();
    let planned = false;
    if (previous !== null) {
      const { experiment_seconds: experimentGap, cycle_seconds: cycleGap } = plan.gaps;
      const newCycle = plan.order !== 'sequential' && run.cycle !== previous.cycle;
      if (experimentGap > 0) {
        planned = true;
        emitProgress(onProgress, { type: 'gap', reason: 'experiment', seconds: experimentGap });
        await interruptibleSleep(experimentGap * 1000, signal);
      }
      if (newCycle && cycleGap > 0 && !signal?.aborted) {
        planned = true;
        emitProgress(onProgress, { type: 'gap', reason: 'cycle', seconds: cycleGap });
        await interruptibleSleep(cycleGap * 1000, signal);
      }
    }
    const cooldown = plan.gaps.cooldown;
    if (cooldown && !signal?.aborted) {
      if (!this.context.meters?.temperatures) noTemperatures();
      else {
        planned = true;
        await this.coolDown(cooldown);
      }
    }
    return planned ? Number(this.clock.monotonicNs() - t0) / 1e9 : null;
  }

  /** Polls GPU temperatures until every one is at or below the limit, or the timeout passes. */
  private async coolDown(cooldown: NonNullable<StudyPlan['gaps']['cooldown']>): Promise<void> {
    const { signal, onProgress } = this.options;
    const deadline = this.clock.monotonicNs() + BigInt(Math.round(cooldown.timeout_seconds * 1e9));
    for (;;) {
      const temperatures = (await this.context.meters?.temperatures?.()) ?? {};
      const hottest = Math.max(-Infinity, ...Object.values(temperatures));
      if (hottest <= cooldown.max_temperature_c || signal?.aborted) return;
      if (this.clock.monotonicNs() >= deadline) {
        this.logger.warn(
          `cooldown: GPUs still at ${hottest} °C after ${cooldown.timeout_seconds} s (limit ${cooldown.max_temperature_c} °C); going on.`,
        );
        return;
      }
      emitProgress(onProgress, {
        type: 'gap',
        reason: 'cooldown',
        seconds: cooldown.timeout_seconds,
        temperatures,
      });
      await interruptibleSleep(cooldown.poll_seconds * 1000, signal);
    }
  }
}
