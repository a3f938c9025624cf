/**
 * How the CLI talks: human text on stdout/stderr, or JSON lines (`--json`) on stdout.
 * Errors go to stderr as `error: <message>` plus `fix: <hint>`; a stack trace only with --verbose.
 */
/** Version of the `--json` lines' shapes (docs/json.md); bumped when a field changes meaning or goes away. */
export const JSON_SCHEMA_VERSION = 1;

export interface OutputOptions {
  json?: boolean;
  verbose?: boolean;
}

export class Output {
  readonly json: boolean;
  readonly verbose: boolean;
  readonly isTTY: boolean;

  constructor(
    options: OutputOptions = {},
    readonly stdout: NodeJS.WriteStream = process.stdout,
    readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {
    this.json = options.json ?? false;
    this.verbose = options.verbose ?? false;
    this.isTTY = Boolean(stdout.isTTY) && !this.json && process.env.TERM !== 'dumb';
  }

  /** A line of the command's result (human mode). */
  line(text = ''): void {
    this.stdout.write(`${text}\n`);
  }

  /** A diagnostic line, never part of the result. */
  info(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  /**
   * One JSON object per line (`--json`): `type` first, then `schemaVersion` (JSON_SCHEMA_VERSION),
   * then the record's own keys, camelCase (docs/json.md).
   */
  record(value: { type: string } & Record<string, unknown>): void {
    const { type, ...rest } = value;
    this.stdout.write(`${JSON.stringify({ type, schemaVersion: JSON_SCHEMA_VERSION, ...rest })}\n`);
  }

  /** A `file-written` record (`--json`): a command wrote or moved a file the user may want. */
  fileWritten(path: string, role: string): void {
    if (this.json) this.record({ type: 'file-written', path, role });
  }

  /** A one-line notice (a deprecated name in use): stderr, or a `notice` record with --json. */
  notice(text: string): void {
    if (this.json) this.record({ type: 'notice', message: text });
    else this.stderr.write(`notice: ${text}\n`);
  }

  debug(text: string): void {
    if (this.verbose) this.stderr.write(`debug: ${text}\n`);
  }
}

interface ErrorLike {
  name?: string;
  message?: string;
  fix?: string;
  stack?: string;
  exitCode?: number;
  problems?: readonly { file: string | null; path: string | null; message: string }[];
}

/** The one place errors are printed. */
export function printError(error: unknown, out: Output): void {
  const e = (error ?? {}) as ErrorLike;
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(error);
  if (out.json) {
    out.record({
      type: 'error',
      error: e.name ?? 'Error',
      message,
      problems: problemsOf(e, message),
      fix: e.fix ?? null,
      exitCode: e.exitCode ?? 1,
    });
  } else {
    const [first, ...rest] = message.split('\n');
    const lines = [`error: ${first}`, ...rest.map((line) => `  ${line}`)];
    if (e.fix) lines.push(`fix: ${e.fix}`);
    out.info(lines.join('\n'));
  }
  if (out.verbose && e.stack) out.info(e.stack);
  else if (!isKnownError(error)) out.info('(run with --verbose for the stack trace)');
}

/**
 * An error's problems as an array: a config error's own list (file, field path, message), else
 * one problem per line of the message.
 */
function problemsOf(
  e: ErrorLike,
  message: string,
): { file: string | null; path: string | null; message: string }[] {
  if (Array.isArray(e.problems)) return [...e.problems];
  return message.split('\n').map((line) => ({ file: null, path: null, message: line }));
}

function isKnownError(error: unknown): boolean {
  return typeof (error as ErrorLike | null)?.exitCode === 'number';
}
