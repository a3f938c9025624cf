import { hostname } from 'node:os';
import { z } from 'zod';
import { type Clock, isoUtc, systemClock } from '../clock.js';
import { sanitizeExperimentId } from '../security/ids.js';
import { assertTransition, EXPERIMENT_PHASES, type ExperimentPhase } from './phase.js';

export const STATE_SCHEMA_VERSION = 1 as const;

const isoUtcString = z.iso.datetime({ offset: false, precision: -1 }).or(z.iso.datetime({ offset: false }));

/** Why a state is failed. `interrupted` is a user stop; `stale` a process that vanished. */
export const FAILURE_KINDS = ['error', 'interrupted', 'timeout', 'stale'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

export const ExperimentStateSchema = z.strictObject({
  schemaVersion: z.literal(STATE_SCHEMA_VERSION),
  experimentId: z.string().min(1),
  phase: z.enum(EXPERIMENT_PHASES),
  failed: z.boolean(),
  failureKind: z.enum(FAILURE_KINDS).nullable(),
  configHash: z.string().regex(/^[0-9a-f]{16}$/).nullable(),
  errorMessage: z.string().nullable(),
  createdAt: isoUtcString,
  startedAt: isoUtcString.nullable(),
  lastUpdated: isoUtcString,
  subprocessPid: z.number().int().positive().nullable(),
  /** Host that owns `subprocessPid`: a pid means nothing on another machine. */
  hostName: z.string().nullable(),
  /** How many times this experiment has been (re)started. */
  attempt: z.number().int().nonnegative(),
  studyId: z.string().nullable(),
  cycle: z.number().int().nonnegative().nullable(),
  /** Bumped by every save; a store refuses to overwrite a newer revision. */
  revision: z.number().int().nonnegative(),
});

export type ExperimentState = z.infer<typeof ExperimentStateSchema>;

export interface CreateStateOptions {
  studyId?: string | null;
  cycle?: number | null;
  clock?: Clock;
}

export function createState(
  experimentId: string,
  configHash: string | null = null,
  options: CreateStateOptions = {},
): ExperimentState {
  const now = isoUtc((options.clock ?? systemClock).now());
  return {
    schemaVersion: STATE_SCHEMA_VERSION,
    experimentId: sanitizeExperimentId(experimentId),
    phase: 'initialising',
    failed: false,
    failureKind: null,
    configHash,
    errorMessage: null,
    createdAt: now,
    startedAt: null,
    lastUpdated: now,
    subprocessPid: null,
    hostName: null,
    attempt: 0,
    studyId: options.studyId ?? null,
    cycle: options.cycle ?? null,
    revision: 0,
  };
}

/**
 * Moves to `to` if the phase table allows it (the `failed` flag does not change the rules).
 * Entering `measuring` stamps `startedAt`. Returns a new state; the input is untouched.
 */
export function transition(state: ExperimentState, to: ExperimentPhase, clock: Clock = systemClock): ExperimentState {
  assertTransition(state.phase, to);
  const now = isoUtc(clock.now());
  return {
    ...state,
    phase: to,
    lastUpdated: now,
    startedAt: to === 'measuring' ? now : state.startedAt,
  };
}

/** Sets the failure flag and reason. Never changes the phase. */
export function markFailed(
  state: ExperimentState,
  message: string,
  kind: FailureKind = 'error',
  clock: Clock = systemClock,
): ExperimentState {
  return { ...state, failed: true, failureKind: kind, errorMessage: message, lastUpdated: isoUtc(clock.now()) };
}

/** Records the workload process that owns this state, for stale detection later. */
export function withProcess(
  state: ExperimentState,
  pid: number | null,
  clock: Clock = systemClock,
  host: string = hostname(),
): ExperimentState {
  return { ...state, subprocessPid: pid, hostName: pid === null ? null : host, lastUpdated: isoUtc(clock.now()) };
}

/** A state is finished when it is done and not failed: nothing left to measure. */
export function isComplete(state: ExperimentState): boolean {
  return state.phase === 'done' && !state.failed;
}
