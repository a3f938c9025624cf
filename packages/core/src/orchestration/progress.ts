import type { OutputStream } from '../plugins/runner.js';
import type { ProtocolEvent } from '../protocol/events.js';
import type { ExperimentResult } from '../results/experiment-result.js';

/** Steps of one experiment-cycle as the orchestrator walks them (for a live view). */
export type RunStep =
  | 'claiming'
  | 'preparing'
  | 'baseline'
  | 'launching'
  | 'measuring'
  | 'collecting'
  | 'writing'
  | 'done'
  | 'reused'
  | 'busy'
  | 'failed'
  | 'interrupted';

export type ProgressEvent =
  | { type: 'step'; experimentId: string; step: RunStep; detail?: string }
  /** A protocol event from the workload (loaded, warmup-done, window-start, progress, ...). */
  | { type: 'workload'; experimentId: string; event: ProtocolEvent }
  | { type: 'log'; experimentId: string; line: string; stream: OutputStream }
  /** A run's result, in memory, as soon as it is done or reused (nothing needs to read it back). */
  | { type: 'result'; experimentId: string; result: ExperimentResult }
  /**
   * Energy so far of the run in flight, estimates apart: `measuredJ`/`estimatedJ` since the meter
   * started (model load and warmup included); `window` since the workload's measurement window
   * opened (what its result counts), null before it opens.
   */
  | {
      type: 'energy';
      experimentId: string;
      measuredJ: number;
      estimatedJ: number;
      window: WindowEnergy | null;
    }
  /** A study starts run `position` (0-based) of `total`. */
  | {
      type: 'run-start';
      experimentId: string;
      position: number;
      total: number;
      label: string;
      cycle: number | null;
    }
  /** A pause between study runs; `seconds` is the planned length (cooldown: the timeout). */
  | {
      type: 'gap';
      reason: 'experiment' | 'cycle' | 'cooldown';
      seconds: number;
      temperatures?: Record<string, number>;
    };

/** Energy since the measurement window opened, as the result will count it (live, so approximate). */
export interface WindowEnergy {
  /** Seconds since the window opened. */
  seconds: number;
  measuredJ: number;
  estimatedJ: number;
  /** measuredJ less each device's idle power over `seconds`, when an idle baseline was taken. */
  adjustedJ: number | null;
}

export type ProgressListener = (event: ProgressEvent) => void;

/** Calls the listener, never letting a broken live view break a measurement. */
export function emitProgress(listener: ProgressListener | undefined, event: ProgressEvent): void {
  if (!listener) return;
  try {
    listener(event);
  } catch {
    // A display error must not fail or corrupt a run.
  }
}
