/** Time source, injectable so state transitions and tests are deterministic. */
export interface Clock {
  /** Wall-clock now. */
  now(): Date;
  /** CLOCK_MONOTONIC in nanoseconds (same clock as Python's `time.monotonic_ns()` on Linux). */
  monotonicNs(): bigint;
}

export const systemClock: Clock = {
  now: () => new Date(),
  monotonicNs: () => process.hrtime.bigint(),
};

/** ISO-8601 UTC with milliseconds, e.g. `2026-11-28T14:32:29.123Z`. */
export function isoUtc(date: Date): string {
  return date.toISOString();
}
