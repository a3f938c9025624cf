/**
 * Waits `ms`, or less if `signal` aborts (then resolves early: the caller checks
 * `signal.aborted`, so an interrupted gap never looks like an error).
 */
export function interruptibleSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
