import { ExitCode } from '@llem/core';
import { killAllRunningGroups } from './active-groups.js';

export interface InterruptHandlerOptions {
  /** First SIGINT/SIGTERM: the run is being stopped gracefully. Print `message` to the user. */
  onFirst?: (message: string, signal: NodeJS.Signals) => void;
  /** Second signal: everything is being killed and the process exits 130. */
  onSecond?: (message: string, signal: NodeJS.Signals) => void;
  /** Signals to handle. Default SIGINT, SIGTERM and SIGHUP (a closed terminal stops a run like SIGTERM). */
  signals?: readonly NodeJS.Signals[];
}

export interface InterruptHandler {
  /** Aborted on the first signal: pass it to `Runner.run` so the workload stops gracefully. */
  readonly signal: AbortSignal;
  /** The signal that arrived first, or null. */
  readonly received: NodeJS.Signals | null;
  /** Removes the handlers (the default behaviour of the signals comes back). */
  dispose(): void;
}

/**
 * The CLI's signal policy. First Ctrl+C (or SIGTERM): say so and abort `signal`, so the runner
 * stops the workload gracefully (SIGTERM, grace, SIGKILL); the CLI then records the interruption
 * and exits 130 (`InterruptedError`). Second one: kill every running workload group at once
 * (SIGKILL + force stop commands) and exit 130 immediately.
 */
export function installInterruptHandler(options: InterruptHandlerOptions = {}): InterruptHandler {
  const controller = new AbortController();
  const signals = options.signals ?? (['SIGINT', 'SIGTERM', 'SIGHUP'] as const);
  let received: NodeJS.Signals | null = null;

  const handler = (signal: NodeJS.Signals) => {
    if (received === null) {
      received = signal;
      options.onFirst?.(
        `Received ${signal}: stopping the workload gracefully (press Ctrl+C again to kill it now)...`,
        signal,
      );
      controller.abort(new Error(`Interrupted by ${signal}`));
      return;
    }
    options.onSecond?.(`Received ${signal} again: killing the workload now.`, signal);
    killAllRunningGroups();
    process.exit(ExitCode.interrupted);
  };
  for (const signal of signals) process.on(signal, handler);

  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose() {
      for (const signal of signals) process.off(signal, handler);
    },
  };
}
