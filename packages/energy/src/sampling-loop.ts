/**
 * Calls `tick` every `intervalMs` on the event loop. Each tick is scheduled against the start time,
 * not the previous tick, so the period does not drift by the tick's own duration; a tick that falls
 * behind (busy loop) skips the missed slots instead of bursting to catch up. The timer is unref'd:
 * sampling never keeps a process alive on its own.
 */
export class SamplingLoop {
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private slot = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly tick: () => void,
  ) {
    if (!(intervalMs >= 1)) throw new RangeError(`sample interval must be >= 1 ms, got ${intervalMs}`);
  }

  get running(): boolean {
    return this.timer !== null;
  }

  start(): void {
    if (this.timer) return;
    this.startedAt = performance.now();
    this.slot = 0;
    this.tick();
    this.schedule();
  }

  /** Stops the timer and takes one last reading, so a window that ends now is covered. */
  stop(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.tick();
  }

  private schedule(): void {
    const now = performance.now();
    this.slot = Math.max(this.slot + 1, Math.ceil((now - this.startedAt) / this.intervalMs));
    const delay = Math.max(0, this.startedAt + this.slot * this.intervalMs - now);
    this.timer = setTimeout(() => {
      this.tick();
      if (this.timer) this.schedule();
    }, delay);
    this.timer.unref();
  }
}
