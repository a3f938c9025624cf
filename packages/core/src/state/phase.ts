import { InvalidStateTransitionError } from '../errors.js';

/** The three phases of an experiment. Failure is a separate flag, never a phase. */
export const EXPERIMENT_PHASES = ['initialising', 'measuring', 'done'] as const;
export type ExperimentPhase = (typeof EXPERIMENT_PHASES)[number];

const ALLOWED: Readonly<Record<ExperimentPhase, readonly ExperimentPhase[]>> = {
  initialising: ['measuring'],
  measuring: ['done'],
  done: [],
};

export function canTransition(from: ExperimentPhase, to: ExperimentPhase): boolean {
  return ALLOWED[from].includes(to);
}

export function assertTransition(from: ExperimentPhase, to: ExperimentPhase): void {
  if (!canTransition(from, to)) throw new InvalidStateTransitionError(from, to);
}
