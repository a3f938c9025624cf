import { hostname } from 'node:os';
import { z } from 'zod';
import { type Clock, isoUtc, systemClock } from '../clock.js';
import { CorruptRecordError, messageOf, StateStoreError } from '../errors.js';
import { sanitizeExperimentId } from '../security/ids.js';
import { assertTransition, EXPERIMENT_PHASES, type ExperimentPhase } from './phase.js';

/**
 * Version of the stored record. 2 added `resultPath` (where the attempt commits its result); a
 * version-1 record reads as version 2 with `resultPath: null` and is written back as version 2.
 */
export const STATE_SCHEMA_VERSION = 2 as const;

const isoUtcString = z.iso.datetime({ offset: false, precision: -1 }).or(z.iso.datetime({ offset: false }));

/** Why a state is failed. `interrupted` is a user stop; `stale` a process that vanished. */
export const FAILURE_KINDS = ['error', 'interrupted', 'timeout', 'stale'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** A job of a batch scheduler (Slurm, ...) that runs an attempt. */
export const SchedulerJobSchema = z.strictObject({
  name: z.string().min(1),
  jobId: z.string().min(1),
});
export type SchedulerJob = z.infer<typeof SchedulerJobSchema>;

export const ExperimentStateSchema = z.strictObject({
  schemaVersion: z
    .union([z.literal(1), z.literal(STATE_SCHEMA_VERSION)])
    .transform(() => STATE_SCHEMA_VERSION),
  experimentId: z.string().min(1),
  phase: z.enum(EXPERIMENT_PHASES),
  failed: z.boolean(),
  failureKind: z.enum(FAILURE_KINDS).nullable(),
  configHash: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .nullable(),
  errorMessage: z.string().nullable(),
  createdAt: isoUtcString,
  startedAt: isoUtcString.nullable(),
  lastUpdated: isoUtcString,
  subprocessPid: z.number().int().positive().nullable(),
  /**
   * The llem process that owns this attempt (claims, prepares, launches, collects). A measuring
   * state is stale only when the workload AND its owner are gone: between the workload's exit and
   * `done`, llem is still collecting. Null in records written before this field existed.
   */
  ownerPid: z.number().int().positive().nullable().default(null),
  /** Host that owns `subprocessPid`: a pid means nothing on another machine. */
  hostName: z.string().nullable(),
  /** How many times this experiment has been (re)started. */
  attempt: z.number().int().nonnegative(),
  studyId: z.string().nullable(),
  cycle: z.number().int().nonnegative().nullable(),
  /** Bumped by every save; a store refuses to overwrite a newer revision. */
  revision: z.number().int().nonnegative(),
  /**
   * The batch-scheduler job that runs this attempt (e.g. `{ name: 'slurm', jobId: '42' }`), set
   * when it was submitted. While it is set on an unfinished state, the scheduler, not a pid,
   * says whether the attempt is alive. Null for local runs and in older records.
   */
  scheduler: SchedulerJobSchema.nullable().default(null),
  /**
   * Where this attempt commits its result (an absolute path to result.json). The file is the
   * commit record of a measurement: once it exists for this attempt, the measurement happened,
   * even if llem died before saving `done` (see adoptCommittedResult). Null before a result
   * location is known and in version-1 records.
   */
  resultPath: z.string().min(1).nullable().default(null),
});

export type ExperimentState = z.infer<typeof ExperimentStateSchema>;

export interface CreateStateOptions {
  studyId?: string | null;
  cycle?: number | null;
  /** The llem process that owns this attempt, recorded in the same write that creates the record. */
  ownerPid?: number | null;
  hostName?: string | null;
  attempt?: number;
  /** Where this attempt will commit its result.json (see `resultPath`). */
  resultPath?: string | null;
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
    ownerPid: options.ownerPid ?? null,
    hostName: options.hostName ?? null,
    attempt: options.attempt ?? 0,
    studyId: options.studyId ?? null,
    cycle: options.cycle ?? null,
    revision: 0,
    scheduler: null,
    resultPath: options.resultPath ?? null,
  };
}

/**
 * Moves to `to` if the phase table allows it (the `failed` flag does not change the rules).
 * Entering `measuring` stamps `startedAt`. Returns a new state; the input is untouched.
 */
export function transition(
  state: ExperimentState,
  to: ExperimentPhase,
  clock: Clock = systemClock,
): ExperimentState {
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
  return {
    ...state,
    failed: true,
    failureKind: kind,
    errorMessage: message,
    lastUpdated: isoUtc(clock.now()),
  };
}

/** Records the workload process that owns this state, for stale detection later. */
export function withProcess(
  state: ExperimentState,
  pid: number | null,
  clock: Clock = systemClock,
  host: string = hostname(),
): ExperimentState {
  return {
    ...state,
    subprocessPid: pid,
    hostName: pid === null ? null : host,
    lastUpdated: isoUtc(clock.now()),
  };
}

/** Records the llem process that owns this attempt (see `ownerPid`), on this host. */
export function withOwner(
  state: ExperimentState,
  pid: number,
  clock: Clock = systemClock,
  host: string = hostname(),
): ExperimentState {
  return { ...state, ownerPid: pid, hostName: host, lastUpdated: isoUtc(clock.now()) };
}

/** Records the scheduler job submitted to run this attempt. */
export function withSchedulerJob(
  state: ExperimentState,
  job: SchedulerJob | null,
  clock: Clock = systemClock,
): ExperimentState {
  return { ...state, scheduler: job, lastUpdated: isoUtc(clock.now()) };
}

/**
 * A measurement whose result was committed (its result.json written for this very attempt) is
 * done, even when llem died before saving `done` and the state was then found stale, or the save
 * itself failed: the phase moves measuring -> done and the failure flag is cleared, because the
 * failure was only ever about the bookkeeping, never the measurement.
 */
export function adoptAsDone(state: ExperimentState, clock: Clock = systemClock): ExperimentState {
  const measuring = state.phase === 'initialising' ? transition(state, 'measuring', clock) : state;
  return {
    ...transition(measuring, 'done', clock),
    failed: false,
    failureKind: null,
    errorMessage: null,
  };
}

/** A state is finished when it is done and not failed: nothing left to measure. */
export function isComplete(state: ExperimentState): boolean {
  return state.phase === 'done' && !state.failed;
}

/**
 * Turns a stored record (JSON text) back into a state, or throws StateStoreError naming `where`
 * (a file or row): unreadable JSON, a newer schemaVersion, a schema mismatch, or a record that
 * belongs to another experiment.
 */
const QUARANTINE_FIX =
  'Move it aside with `llem cleanup --quarantine` (kept under the store, never deleted), then run the experiment again.';

export function parseStoredState(text: string, where: string, expectedId?: string): ExperimentState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new CorruptRecordError(
      `Corrupt state record ${where}: not valid JSON (${messageOf(error)}).`,
      expectedId,
      {
        fix: QUARANTINE_FIX,
        cause: error,
      },
    );
  }
  const version = (raw as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (typeof version === 'number' && version > STATE_SCHEMA_VERSION) {
    throw new StateStoreError(
      `State record ${where} has schemaVersion ${version}, newer than this llem understands (${STATE_SCHEMA_VERSION}).`,
      { fix: 'Upgrade llem, or use a separate state directory for the older version.' },
    );
  }
  const parsed = ExperimentStateSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const detail = first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid';
    throw new CorruptRecordError(`Corrupt state record ${where}: ${detail}.`, expectedId, {
      fix: QUARANTINE_FIX,
    });
  }
  if (expectedId !== undefined && parsed.data.experimentId !== expectedId) {
    throw new StateStoreError(
      `State record ${where} belongs to experiment '${parsed.data.experimentId}', not '${expectedId}'.`,
      { fix: 'The record was copied or renamed by hand; delete it or restore its original name.' },
    );
  }
  return parsed.data;
}

/** Checks a state before a store writes it: unsafe id -> ConfigError, schema mismatch -> StateStoreError. */
export function assertStorableState(state: ExperimentState): ExperimentState {
  sanitizeExperimentId(state.experimentId);
  const parsed = ExperimentStateSchema.safeParse(state);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new StateStoreError(
      `Refusing to store an invalid state for '${state.experimentId}': ${first?.path.join('.') || '(root)'}: ${first?.message}.`,
    );
  }
  return parsed.data;
}
