/**
 * A reader that goes away (`llem config show x.yaml | head`, a closed terminal) is not an error:
 * the command ends quietly, with no stack trace. Writes to a closed stdout or stderr are dropped
 * from then on. A command that owns its interrupts (`run`, `exec`: children, claims) is stopped as
 * by SIGTERM, so it stops its workloads and records the interruption as it would for a signal;
 * any other command exits at once (it has nothing to stop), with the exit code it had so far.
 */
import { commandOwnsSignals } from './early-signals.js';

let closed = false;

function drop(stream: NodeJS.WriteStream): void {
  // Later writes go nowhere: Node would otherwise raise EPIPE again (or write after destroy).
  stream.write = ((_chunk: unknown, encoding?: unknown, callback?: unknown) => {
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
    return true;
  }) as NodeJS.WriteStream['write'];
}

function onError(stream: NodeJS.WriteStream, error: NodeJS.ErrnoException): void {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  drop(stream);
  if (stream !== process.stdout || closed) return;
  closed = true;
  if (commandOwnsSignals()) process.kill(process.pid, 'SIGTERM');
  else process.exit(process.exitCode ?? 0);
}

/** Installed by bin.ts before anything is written. */
export function installBrokenPipeHandlers(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => onError(process.stdout, error));
  process.stderr.on('error', (error: NodeJS.ErrnoException) => onError(process.stderr, error));
}
