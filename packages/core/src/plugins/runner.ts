import type { ProtocolEvent } from '../protocol/events.js';

/** What to run: an argv array (never a shell string), its environment and how to stop it. */
export interface RunSpec {
  argv: readonly string[];
  /** The complete environment of the workload (build it with runner-node's buildSubprocessEnv). */
  env: Readonly<Record<string, string>>;
  cwd?: string;
  /** Append stdout and stderr here as well. */
  logFile?: string;
  /** Kill after this long; the outcome is then `timed-out`. */
  timeoutMs?: number;
  /** Time between the polite stop (SIGTERM / stop command) and SIGKILL. Default 10 s. */
  graceMs?: number;
  /**
   * Extra commands that stop what the process group cannot (a Docker container): `graceful` runs
   * first on stop, `force` after the grace period. They also run if llem itself dies.
   */
  stopCommands?: { graceful?: readonly string[]; force?: readonly string[] };
  /** Human-readable label for messages. */
  label?: string;
}

export type OutputStream = 'stdout' | 'stderr';

export interface RunOptions {
  /** Aborting stops the workload; the outcome is then `interrupted`. */
  signal?: AbortSignal;
  /** Every output line that is not a protocol event. */
  onLine?: (line: string, stream: OutputStream) => void;
  /** Every protocol event from stdout, parsed and typed. */
  onEvent?: (event: ProtocolEvent) => void;
  /** Called once the workload process is up, with its pid. */
  onSpawn?: (pid: number) => void;
}

export type RunOutcomeKind = 'exited' | 'signaled' | 'timed-out' | 'interrupted';

export interface RunOutcome {
  kind: RunOutcomeKind;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  pid: number | null;
}

/** Runs a workload to completion in isolation. Implementations: @llem/runner-node. */
export interface Runner {
  readonly name: string;
  run(spec: RunSpec, options?: RunOptions): Promise<RunOutcome>;
}
