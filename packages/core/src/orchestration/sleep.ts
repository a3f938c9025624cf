import { performance } from 'node:perf_hooks';

/**
 * Waits at least `ms` by the monotonic clock, or less if `signal` aborts (then resolves early: the
 * caller checks `signal.aborted`, so an interrupted gap never looks like an error). Node's timers
 * may fire a millisecond early, so the wait re-arms for whatever is left.
 */
export function interruptibleSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  const deadline = performance.now() + ms;
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout;
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const arm = () => {
      const left = deadline - performance.now();
      if (left <= 0) done();
      else timer = setTimeout(arm, Math.ceil(left));
    };
    arm();
    signal?.addEventListener('abort', done, { once: true });
  });
}
