/**
 * Signals before a command has its own interrupt handling. bin.ts installs these first thing, so
 * a Ctrl+C (SIGINT), SIGTERM or SIGHUP that arrives while llem is still starting ends it with exit
 * 130 instead of Node's default death by signal. Until a command takes over (run, exec), nothing
 * has been claimed or measured, and every store write is crash-safe, so stopping at once leaves
 * nothing half-written. A command that installs its own handler releases these.
 */
export const INTERRUPT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function stopNow(signal: NodeJS.Signals): void {
  process.stderr.write(`\nReceived ${signal} while starting: stopped before anything ran.\n`);
  process.exit(130);
}

let released = false;

export function installEarlySignalHandlers(): void {
  for (const signal of INTERRUPT_SIGNALS) process.on(signal, stopNow);
}

export function releaseEarlySignalHandlers(): void {
  released = true;
  for (const signal of INTERRUPT_SIGNALS) process.off(signal, stopNow);
}

/** Has a command (run, exec) taken over the interrupt signals with its own handler? */
export function commandOwnsSignals(): boolean {
  return released;
}
