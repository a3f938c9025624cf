/**
 * One error hierarchy for llem. Every error carries a message a user can act on, an optional
 * `fix` hint the CLI prints on its own line, and the process exit code it maps to.
 *
 * Errors are recognised by a brand, never by `instanceof`: a plugin may bring its own copy of
 * @llem/core, and an error made by one copy must still be a ConfigError (exit 2) to another. Every
 * LlemError carries `Symbol.for('llem.error')` (one symbol per process, whatever the copy) and the
 * kinds of its class chain (`['state-store', 'corrupt-record']` for a CorruptRecordError); use the
 * `is...` functions below to classify.
 */
export const ExitCode = { ok: 0, runtime: 1, config: 2, interrupted: 130 } as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface LlemErrorOptions {
  fix?: string;
  cause?: unknown;
}

/** The brand every copy of @llem/core puts on its errors. */
export const LLEM_ERROR_BRAND: unique symbol = Symbol.for('llem.error') as never;

export type LlemErrorKind =
  | 'llem'
  | 'config'
  | 'invalid-transition'
  | 'state-store'
  | 'corrupt-record'
  | 'state-conflict'
  | 'runner'
  | 'backend'
  | 'energy'
  | 'interrupted';

interface BrandedConstructor {
  readonly kind?: LlemErrorKind;
}

export class LlemError extends Error {
  static readonly kind: LlemErrorKind = 'llem';
  readonly exitCode: ExitCodeValue = ExitCode.runtime;
  readonly fix: string | undefined;
  /** The kinds of this error's class and its ancestors, most specific first. */
  declare readonly llemKinds: readonly LlemErrorKind[];
  declare readonly [LLEM_ERROR_BRAND]: true;

  constructor(message: string, options: LlemErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.fix = options.fix;
    const kinds: LlemErrorKind[] = [];
    for (let ctor = new.target as BrandedConstructor | null; ctor; ctor = Object.getPrototypeOf(ctor)) {
      if (Object.hasOwn(ctor, 'kind') && ctor.kind) kinds.push(ctor.kind);
      if ((ctor as unknown) === LlemError) break;
    }
    Object.defineProperty(this, 'llemKinds', { value: Object.freeze(kinds), enumerable: false });
    Object.defineProperty(this, LLEM_ERROR_BRAND, { value: true, enumerable: false });
  }
}

/** One problem of a ConfigError: where (file, dotted field path) and what. */
export interface ConfigProblem {
  file: string | null;
  path: string | null;
  message: string;
}

/** Bad configuration or input: YAML, unknown keys, wrong types, unsafe ids. Exit 2. */
export class ConfigError extends LlemError {
  static override readonly kind: LlemErrorKind = 'config';
  override readonly exitCode = ExitCode.config;
  /** The problems one by one, when the error lists several (config validation); else undefined. */
  readonly problems: readonly ConfigProblem[] | undefined;

  constructor(message: string, options: LlemErrorOptions & { problems?: readonly ConfigProblem[] } = {}) {
    super(message, options);
    this.problems = options.problems;
  }
}

export class InvalidStateTransitionError extends LlemError {
  static override readonly kind: LlemErrorKind = 'invalid-transition';
  constructor(
    readonly from: string,
    readonly to: string,
  ) {
    super(`Invalid transition: ${from} -> ${to}`, {
      fix: 'Allowed moves are initialising -> measuring and measuring -> done.',
    });
  }
}

/** A store could not read or write a record: corrupt, foreign, unreachable or closed. */
export class StateStoreError extends LlemError {
  static override readonly kind: LlemErrorKind = 'state-store';
}

/** A stored record that cannot be read back. `recordId` names it so it can be quarantined. */
export class CorruptRecordError extends StateStoreError {
  static override readonly kind: LlemErrorKind = 'corrupt-record';
  constructor(
    message: string,
    readonly recordId: string | undefined,
    options: LlemErrorOptions = {},
  ) {
    super(message, options);
  }
}

/** A save lost a race: the stored record is newer than the one being written. */
export class StateConflictError extends StateStoreError {
  static override readonly kind: LlemErrorKind = 'state-conflict';
  constructor(
    readonly experimentId: string,
    readonly storedRevision: number,
    readonly attemptedRevision: number,
  ) {
    super(
      `State for '${experimentId}' was changed by another writer (stored revision ${storedRevision}, ` +
        `this write expected ${attemptedRevision}).`,
      { fix: 'Reload the state and apply the change again.' },
    );
  }
}

export class RunnerError extends LlemError {
  static override readonly kind: LlemErrorKind = 'runner';
}
export class BackendError extends LlemError {
  static override readonly kind: LlemErrorKind = 'backend';
}
export class EnergyError extends LlemError {
  static override readonly kind: LlemErrorKind = 'energy';
}

/** The user (or a signal) stopped the run. Exit 130. */
export class InterruptedError extends LlemError {
  static override readonly kind: LlemErrorKind = 'interrupted';
  override readonly exitCode = ExitCode.interrupted;
  constructor(message = 'Interrupted') {
    super(message);
  }
}

/** Any llem error, from this copy of @llem/core or another. */
export function isLlemError(value: unknown): value is LlemError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[LLEM_ERROR_BRAND] === true &&
    Array.isArray((value as { llemKinds?: unknown }).llemKinds)
  );
}

function hasKind(value: unknown, kind: LlemErrorKind): boolean {
  return isLlemError(value) && value.llemKinds.includes(kind);
}

export const isConfigError = (value: unknown): value is ConfigError => hasKind(value, 'config');
export const isStateStoreError = (value: unknown): value is StateStoreError => hasKind(value, 'state-store');
export const isCorruptRecordError = (value: unknown): value is CorruptRecordError =>
  hasKind(value, 'corrupt-record');
export const isStateConflictError = (value: unknown): value is StateConflictError =>
  hasKind(value, 'state-conflict');
export const isRunnerError = (value: unknown): value is RunnerError => hasKind(value, 'runner');
export const isBackendError = (value: unknown): value is BackendError => hasKind(value, 'backend');
export const isEnergyError = (value: unknown): value is EnergyError => hasKind(value, 'energy');
export const isInterruptedError = (value: unknown): value is InterruptedError =>
  hasKind(value, 'interrupted');
export const isInvalidStateTransitionError = (value: unknown): value is InvalidStateTransitionError =>
  hasKind(value, 'invalid-transition');

/** Exit code for any thrown value: ours carry one, anything else is a runtime failure. */
export function exitCodeOf(error: unknown): ExitCodeValue {
  return isLlemError(error) ? error.exitCode : ExitCode.runtime;
}

/** The message of anything thrown (an Error's message, else its string form). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The errno code of a failed system call (`ENOENT`, `EACCES`, ...), or undefined. */
export function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
