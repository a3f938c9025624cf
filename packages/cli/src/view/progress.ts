import type { ProgressEvent } from '@llem/core';
import type { Output } from '../output.js';
import { duration, sig3 } from './format.js';

/** What the run command tells the view when one experiment-cycle ends. */
export interface RunFinished {
  experimentId: string;
  label: string;
  status: 'done' | 'reused' | 'failed' | 'interrupted' | 'busy';
  seconds: number | null;
  energyJ: number | null;
  error?: string;
}

export interface ProgressView {
  start(info: { total: number; title: string }): void;
  event(event: ProgressEvent): void;
  finished(run: RunFinished): void;
  /** A message that must not be drawn over (warnings, the interrupt notice). */
  message(text: string): void;
  stop(): void;
}

/** Shared bookkeeping: counts, elapsed time, ETA from runs that really ran, joules so far. */
class Tally {
  total = 0;
  position = 0;
  label = '';
  cycle: number | null = null;
  step = 'starting';
  detail = '';
  finished = 0;
  failed = 0;
  joules = 0;
  /** Energy so far of the run in flight (from the meter, live), null between runs. */
  live: { measuredJ: number; estimatedJ: number } | null = null;
  readonly durations: number[] = [];
  readonly started = Date.now();

  elapsedS(): number {
    return (Date.now() - this.started) / 1000;
  }

  etaS(): number | null {
    if (this.durations.length === 0) return null;
    const mean = this.durations.reduce((a, b) => a + b, 0) / this.durations.length;
    return mean * Math.max(0, this.total - this.finished);
  }

  apply(event: ProgressEvent): void {
    if (event.type === 'run-start') {
      this.position = event.position;
      this.total = event.total;
      this.label = event.label;
      this.cycle = event.cycle;
      this.step = 'starting';
      this.detail = '';
      this.live = null;
    } else if (event.type === 'energy') {
      this.live = { measuredJ: event.measuredJ, estimatedJ: event.estimatedJ };
    } else if (event.type === 'step') {
      this.step = event.step;
      this.detail = event.detail ?? '';
      if (event.step !== 'measuring') this.live = null;
    } else if (event.type === 'workload') {
      const e = event.event;
      if (e.event === 'progress') this.detail = `${e.done}/${e.total} prompts`;
      else this.detail = e.event;
    } else if (event.type === 'gap') {
      this.step = `${event.reason} gap`;
      this.detail = `${Math.round(event.seconds)} s`;
    }
  }

  record(run: RunFinished): void {
    this.finished++;
    if (run.status === 'failed' || run.status === 'interrupted') this.failed++;
    if (run.status === 'done' && run.seconds !== null) this.durations.push(run.seconds);
    if (run.energyJ !== null) this.joules += run.energyJ;
    this.live = null;
  }

  /** The run in flight's energy so far: measured, else the estimate marked as one. */
  liveText(): string {
    const live = this.live;
    if (!live) return '';
    if (live.measuredJ > 0 || live.estimatedJ === 0) return `  ${sig3(live.measuredJ)} J so far`;
    return `  ~${sig3(live.estimatedJ)} J (est.) so far`;
  }
}

/** TTY: a small block redrawn in place. */
export class LiveView implements ProgressView {
  private readonly tally = new Tally();
  private title = '';
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: Output) {}

  start(info: { total: number; title: string }): void {
    this.tally.total = info.total;
    this.title = info.title;
    this.timer = setInterval(() => this.draw(), 250);
    this.timer.unref();
    this.draw();
  }

  event(event: ProgressEvent): void {
    if (event.type === 'log') {
      if (this.out.verbose) this.above(`  | ${event.line}`);
      return;
    }
    this.tally.apply(event);
    this.draw();
  }

  finished(run: RunFinished): void {
    this.tally.record(run);
    this.above(finishedLine(run, this.tally));
  }

  message(text: string): void {
    this.above(text);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }

  private clear(): void {
    if (this.drawn > 0) this.out.stderr.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private above(text: string): void {
    this.clear();
    this.out.stderr.write(`${text}\n`);
    this.draw();
  }

  private draw(): void {
    const t = this.tally;
    const eta = t.etaS();
    // Most useful first: narrow terminals cut the end of each line.
    const detail = t.detail && t.step !== 'done' && t.step !== 'reused' ? `: ${t.detail}` : '';
    const lines = [
      `[${Math.min(t.finished + 1, t.total)}/${t.total}]  elapsed ${duration(t.elapsedS())}  ETA ${eta === null ? '-' : duration(eta)}  ${sig3(t.joules)} J so far  ${this.title}`,
      `  ${t.step}${detail}${t.liveText()}  ${t.label}${t.cycle !== null ? ` (cycle ${t.cycle})` : ''}`,
    ];
    const width = this.out.stderr.columns ?? 100;
    this.clear();
    this.out.stderr.write(
      `${lines.map((l) => (l.length > width - 1 ? `${l.slice(0, width - 2)}…` : l)).join('\n')}\n`,
    );
    this.drawn = lines.length;
  }
}

function finishedLine(run: RunFinished, t: Tally): string {
  const head = `[${t.finished}/${t.total}] ${run.status.padEnd(11)} ${run.label}`;
  const figures = run.status === 'done' ? `  ${duration(run.seconds)}  ${sig3(run.energyJ)} J` : '';
  return `${head}${figures}${run.error ? `  ${run.error.split('\n')[0]}` : ''}`;
}

/** Not a TTY: one plain line per run start and end (logs, CI). */
export class PlainView implements ProgressView {
  private readonly tally = new Tally();

  constructor(private readonly out: Output) {}

  start(info: { total: number; title: string }): void {
    this.tally.total = info.total;
    this.out.info(`${info.title}: ${info.total} run(s)`);
  }

  event(event: ProgressEvent): void {
    this.tally.apply(event);
    if (event.type === 'run-start')
      this.out.info(
        `[${event.position + 1}/${event.total}] start ${event.label}${event.cycle !== null ? ` (cycle ${event.cycle})` : ''}`,
      );
    else if (event.type === 'gap' && event.seconds > 0)
      this.out.info(`  ${event.reason} gap: ${Math.round(event.seconds)} s`);
    else if (event.type === 'log' && this.out.verbose) this.out.info(`  | ${event.line}`);
    else if (event.type === 'step' && this.out.verbose)
      this.out.info(`  ${event.step}${event.detail ? `: ${event.detail}` : ''}`);
  }

  finished(run: RunFinished): void {
    this.tally.record(run);
    this.out.info(finishedLine(run, this.tally));
  }

  message(text: string): void {
    this.out.info(text);
  }

  stop(): void {}
}

/** --json: every event as one JSON line on stdout. */
export class JsonView implements ProgressView {
  constructor(private readonly out: Output) {}

  start(info: { total: number; title: string }): void {
    this.out.record({ type: 'start', ...info });
  }

  event(event: ProgressEvent): void {
    if (event.type === 'log' && !this.out.verbose) return;
    // A whole result is not a progress line: its figures come with the run's `run` record.
    if (event.type === 'result') return;
    const { type, ...rest } = event;
    this.out.record({ type: 'progress', kind: type, ...rest });
  }

  finished(run: RunFinished): void {
    this.out.record({ type: 'run', ...run });
  }

  message(text: string): void {
    this.out.record({ type: 'message', text });
  }

  stop(): void {}
}

export function createView(out: Output): ProgressView {
  if (out.json) return new JsonView(out);
  return out.isTTY && process.stderr.isTTY ? new LiveView(out) : new PlainView(out);
}
