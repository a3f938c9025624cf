/**
 * One error hierarchy for llem. Every error carries a message a user can act on, an optional
 * `fix` hint the CLI prints on its own line, and the process exit code it maps to.
 */
export const ExitCode = { ok: 0, runtime: 1, config: 2, interrupted: 130 } as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface LlemErrorOptions {
  fix?: string;
  cause?: unknown;
}

export class LlemError extends Error {
  readonly exitCode: ExitCodeValue = ExitCode.runtime;
  readonly fix: string | undefined;

  constructor(message: string, options: LlemErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.fix = options.fix;
  }
}

/** Bad configuration or input: YAML, unknown keys, wrong types, unsafe ids. Exit 2. */
export class ConfigError extends LlemError {
  override readonly exitCode = ExitCode.config;
}

export class InvalidStateTransitionError extends LlemError {
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
export class StateStoreError extends LlemError {}

/** A stored record that cannot be read back. `recordId` names it so it can be quarantined. */
export class CorruptRecordError extends StateStoreError {
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

export class RunnerError extends LlemError {}
export class BackendError extends LlemError {}
export class EnergyError extends LlemError {}
export class PreflightError extends LlemError {}

/** The user (or a signal) stopped the run. Exit 130. */
export class InterruptedError extends LlemError {
  override readonly exitCode = ExitCode.interrupted;
  constructor(message = 'Interrupted') {
    super(message);
  }
}

export function isLlemError(value: unknown): value is LlemError {
  return value instanceof LlemError;
}

/** Exit code for any thrown value: ours carry one, anything else is a runtime failure. */
export function exitCodeOf(error: unknown): ExitCodeValue {
  return isLlemError(error) ? error.exitCode : ExitCode.runtime;
}
