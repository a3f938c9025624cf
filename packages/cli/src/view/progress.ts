import type { EnergyBasis, ProgressEvent, ProtocolEvent, WindowEnergy } from '@llem/core';
import type { Output } from '../output.js';
import { duration, estimated, sig3 } from './format.js';
import { cutToWidth } from './labels.js';

/** What the run command tells the view when one experiment-cycle ends. */
export interface RunFinished {
  experimentId: string;
  /** 0-based position in the plan. */
  position: number;
  /** Short label (the swept values first). */
  label: string;
  cycle: number | null;
  status: 'done' | 'reused' | 'failed' | 'interrupted' | 'busy';
  seconds: number | null;
  /** The result's headline energy (idle-adjusted when a baseline was taken), null without one. */
  energyJ: number | null;
  energyBasis: EnergyBasis | null;
  energyPerOutputTokenJ: number | null;
  outputTokensPerS: number | null;
  resultPath: string | null;
  error?: string;
}

export interface ViewStart {
  total: number;
  title: string;
  /** Estimated seconds of each run, by position (the dry run's figures); null where unknown. */
  estimates: readonly (number | null)[];
  /** Seconds of pause planned before each measured run after the first. */
  gapSeconds: number;
  /** Short label of each run, by experiment id. */
  labels: ReadonlyMap<string, string>;
}

export interface ProgressView {
  start(info: ViewStart): void;
  event(event: ProgressEvent): void;
  finished(run: RunFinished): void;
  /** A message that must not be drawn over (warnings, the interrupt notice). */
  message(text: string): void;
  stop(): void;
}

/**
 * Time left: every run not finished yet at its estimate, scaled by how long the measured runs
 * really took against their estimates (so it corrects itself as runs finish), plus the planned
 * gaps; the run in flight counts down from its own estimate. Runs without an estimate count at
 * the mean of the measured ones; null while that is unknown.
 */
export class Eta {
  private readonly finished = new Set<number>();
  private readonly measured: { estimate: number | null; seconds: number }[] = [];
  private current: { position: number; startedMs: number } | null = null;

  constructor(
    private readonly estimates: readonly (number | null)[],
    private readonly gapSeconds = 0,
  ) {}

  runStarted(position: number, nowMs = Date.now()): void {
    this.current = { position, startedMs: nowMs };
  }

  /** A run ended; `measuredSeconds` when it was measured (done or failed), null when reused or skipped. */
  runFinished(position: number, measuredSeconds: number | null): void {
    this.finished.add(position);
    if (measuredSeconds !== null)
      this.measured.push({ estimate: this.estimates[position] ?? null, seconds: measuredSeconds });
    if (this.current?.position === position) this.current = null;
  }

  seconds(nowMs = Date.now()): number | null {
    const withEstimate = this.measured.filter((m) => m.estimate !== null && m.estimate > 0);
    const ratio =
      withEstimate.length > 0
        ? withEstimate.reduce((s, m) => s + m.seconds, 0) /
          withEstimate.reduce((s, m) => s + (m.estimate ?? 0), 0)
        : 1;
    const meanMeasured =
      this.measured.length > 0
        ? this.measured.reduce((s, m) => s + m.seconds, 0) / this.measured.length
        : null;
    const expected = (position: number): number | null => {
      const estimate = this.estimates[position];
      return estimate === null || estimate === undefined ? meanMeasured : estimate * ratio;
    };
    let left = 0;
    for (let position = 0; position < this.estimates.length; position++) {
      if (this.finished.has(position)) continue;
      const seconds = expected(position);
      if (seconds === null) return null;
      if (this.current?.position === position)
        left += Math.max(0, seconds - (nowMs - this.current.startedMs) / 1000);
      else left += seconds + this.gapSeconds;
    }
    return left;
  }
}

/** What the workload is doing, in words (never the orchestrator's step names). */
export function activityText(step: string, workload: ProtocolEvent | null): string {
  switch (step) {
    case 'claiming':
      return 'starting';
    case 'preparing':
      return 'preparing';
    case 'baseline':
      return 'measuring idle power';
    case 'launching':
      return 'starting the workload';
    case 'measuring':
      if (workload === null) return 'loading the model';
      if (workload.event === 'loaded' || workload.event === 'warmup-done') return 'warming up';
      if (workload.event === 'window-start') return 'measuring';
      if (workload.event === 'progress') return `measuring: ${workload.done}/${workload.total} prompts`;
      if (workload.event === 'window-end' || workload.event === 'result') return 'finishing';
      return 'running';
    case 'collecting':
      return 'reading the results';
    case 'writing':
      return 'saving the result';
    default:
      return step;
  }
}

/** The energy of the run in flight, saying what it counts. */
export function liveEnergyText(live: {
  measuredJ: number;
  estimatedJ: number;
  window: WindowEnergy | null;
}): string {
  const pick = (measured: number, estimate: number, adjusted: number | null = null) =>
    adjusted !== null
      ? `${sig3(adjusted)} J (idle-adjusted)`
      : measured > 0 || estimate === 0
        ? `${sig3(measured)} J`
        : estimated(`${sig3(estimate)} J`);
  if (live.window) {
    const w = live.window;
    return `${pick(w.measuredJ, w.estimatedJ, w.adjustedJ)} in the window so far`;
  }
  return `${pick(live.measuredJ, live.estimatedJ)} while loading and warming up (not counted)`;
}

/** "done  batch_size=4 (cycle 1)  4.2s  777 J  0.0123 J/token  312 tok/s". */
export function finishedLine(run: RunFinished, position: string): string {
  const [head, figures] = finishedParts(run, position);
  return figures ? `${head}  ${figures}` : head;
}

/**
 * The finished line for a terminal `width` columns wide: one line when it fits, else the run
 * (status, label, cycle) and, indented below it, its figures, each cut to the width.
 */
export function finishedLines(run: RunFinished, position: string, width: number): string[] {
  const line = finishedLine(run, position);
  if (line.length <= width) return [line];
  const [head, figures] = finishedParts(run, position);
  return [head, ...(figures ? [`${' '.repeat(position.length + 1)}${figures}`] : [])].map((l) =>
    cutToWidth(l, width),
  );
}

function finishedParts(run: RunFinished, position: string): [string, string] {
  const head = `${position} ${run.status.padEnd(11)} ${run.label}${run.cycle !== null ? ` (cycle ${run.cycle})` : ''}`;
  if (run.status !== 'done' && run.status !== 'reused')
    return [head, run.error ? run.error.split('\n')[0]! : ''];
  const estimate = run.energyBasis === 'estimate';
  const mark = (text: string) => (estimate ? estimated(text) : text);
  const figures = [
    run.status === 'done' ? duration(run.seconds) : null,
    run.energyJ === null ? null : mark(`${sig3(run.energyJ)} J`),
    run.energyPerOutputTokenJ === null ? null : mark(`${sig3(run.energyPerOutputTokenJ)} J/token`),
    run.outputTokensPerS === null ? null : `${sig3(run.outputTokensPerS)} tok/s`,
  ].filter((f): f is string => f !== null);
  return [head, figures.join('  ')];
}

/** Shared bookkeeping: counts, the ETA, the run in flight and what it is doing. */
class Tally {
  total = 0;
  position = 0;
  experimentId = '';
  cycle: number | null = null;
  step = 'starting';
  workload: ProtocolEvent | null = null;
  gap: string | null = null;
  finished = 0;
  done = 0;
  failed = 0;
  joules = 0;
  estimatedJoules = false;
  live: { measuredJ: number; estimatedJ: number; window: WindowEnergy | null } | null = null;
  eta = new Eta([]);
  labels: ReadonlyMap<string, string> = new Map();
  readonly started = Date.now();

  begin(info: ViewStart): void {
    this.total = info.total;
    this.eta = new Eta(info.estimates, info.gapSeconds);
    this.labels = info.labels;
  }

  label(experimentId = this.experimentId): string {
    return this.labels.get(experimentId) ?? experimentId;
  }

  elapsedS(): number {
    return (Date.now() - this.started) / 1000;
  }

  apply(event: ProgressEvent): void {
    if (event.type === 'run-start') {
      this.position = event.position;
      this.total = event.total;
      this.experimentId = event.experimentId;
      this.cycle = event.cycle;
      this.step = 'claiming';
      this.workload = null;
      this.gap = null;
      this.live = null;
      this.eta.runStarted(event.position);
    } else if (event.type === 'energy') {
      this.live = { measuredJ: event.measuredJ, estimatedJ: event.estimatedJ, window: event.window };
    } else if (event.type === 'step') {
      this.step = event.step;
      this.gap = null;
      if (event.step !== 'measuring') this.live = null;
    } else if (event.type === 'workload') {
      this.workload = event.event;
      // The figure so far counted load and warmup; the window's own comes with the next energy event.
      if (event.event.event === 'window-start') this.live = null;
    } else if (event.type === 'gap') {
      this.gap =
        event.reason === 'cooldown'
          ? 'cooling down the GPUs'
          : `pause between ${event.reason === 'cycle' ? 'cycles' : 'experiments'}: ${Math.round(event.seconds)} s`;
    }
  }

  record(run: RunFinished): void {
    this.finished++;
    if (run.status === 'done') this.done++;
    if (run.status === 'failed' || run.status === 'interrupted') this.failed++;
    const measured = run.status === 'done' || run.status === 'failed';
    this.eta.runFinished(run.position, measured ? run.seconds : null);
    if (run.energyJ !== null && run.status === 'done') {
      this.joules += run.energyJ;
      if (run.energyBasis === 'estimate') this.estimatedJoules = true;
    }
    this.live = null;
  }

  etaText(): string {
    const eta = this.eta.seconds();
    return eta === null ? 'ETA -' : `ETA ${duration(eta)}`;
  }

  activity(): string {
    if (this.gap) return this.gap;
    const text = activityText(this.step, this.workload);
    return this.live ? `${text} · ${liveEnergyText(this.live)}` : text;
  }
}

/** TTY: a small block redrawn in place, each line cut to the terminal's width. */
export class LiveView implements ProgressView {
  private readonly tally = new Tally();
  private title = '';
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: Output) {}

  start(info: ViewStart): void {
    this.tally.begin(info);
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
    this.above(finishedLines(run, `[${this.tally.finished}/${this.tally.total}]`, this.width()).join('\n'));
  }

  message(text: string): void {
    this.above(text);
  }

  private width(): number {
    return Math.max(20, (this.out.stderr.columns ?? 80) - 1);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  /**
   * Erases the block: back to column 0 first (a `^C` the terminal echoed moved the cursor), up
   * over the drawn lines, clear to the end of the screen.
   */
  private clear(): void {
    this.out.stderr.write(this.drawn > 0 ? `\r\x1b[${this.drawn}A\x1b[J` : '\r\x1b[K');
    this.drawn = 0;
  }

  private above(text: string): void {
    this.clear();
    this.out.stderr.write(`${text}\n`);
    if (this.timer) this.draw();
  }

  private draw(): void {
    if (!this.timer) return;
    const t = this.tally;
    const energy =
      t.joules > 0
        ? ` · ${t.estimatedJoules ? estimated(`${sig3(t.joules)} J`) : `${sig3(t.joules)} J`} done`
        : '';
    const lines = [
      `[${Math.min(t.finished + 1, t.total)}/${t.total}] ${t.etaText()} · elapsed ${duration(t.elapsedS())} · ${t.done} done${t.failed ? `, ${t.failed} failed` : ''}${energy} · ${this.title}`,
      `  ${t.label()}${t.cycle !== null ? ` (cycle ${t.cycle})` : ''}`,
      `  ${t.activity()}`,
    ];
    const width = this.width();
    this.clear();
    this.out.stderr.write(`${lines.map((l) => cutToWidth(l, width)).join('\n')}\n`);
    this.drawn = lines.length;
  }
}

/** Not a TTY: one plain line per run (logs, CI); a run that is measured also gets a start line. */
export class PlainView implements ProgressView {
  private readonly tally = new Tally();
  private pendingStart: string | null = null;

  constructor(private readonly out: Output) {}

  start(info: ViewStart): void {
    this.tally.begin(info);
    const eta = this.tally.eta.seconds();
    this.out.info(`${info.title}: ${info.total} run(s)${eta === null ? '' : `, about ${duration(eta)}`}`);
  }

  event(event: ProgressEvent): void {
    this.tally.apply(event);
    if (event.type === 'run-start') {
      // Printed when the run is really measured: a reused or busy run gets its one end line only.
      this.pendingStart = `[${event.position + 1}/${event.total}] start       ${this.tally.label(event.experimentId)}${event.cycle !== null ? ` (cycle ${event.cycle})` : ''}`;
    } else if (
      event.type === 'step' &&
      this.pendingStart &&
      event.step !== 'claiming' &&
      !isEnd(event.step)
    ) {
      this.out.info(`${this.pendingStart}  ${this.tally.etaText()}`);
      this.pendingStart = null;
    } else if (event.type === 'gap' && event.seconds > 0) this.out.info(`  ${this.tally.activity()}`);
    else if (event.type === 'log' && this.out.verbose) this.out.info(`  | ${event.line}`);
    else if (event.type === 'step' && this.out.verbose && !isEnd(event.step))
      this.out.info(`  ${activityText(event.step, null)}`);
  }

  finished(run: RunFinished): void {
    this.pendingStart = null;
    this.tally.record(run);
    this.out.info(finishedLine(run, `[${this.tally.finished}/${this.tally.total}]`));
  }

  message(text: string): void {
    this.out.info(text);
  }

  stop(): void {}
}

function isEnd(step: string): boolean {
  return ['done', 'reused', 'busy', 'failed', 'interrupted'].includes(step);
}

/** Protocol events with camelCase keys, as every `--json` line has (`t_mono_ns` -> `tMonoNs`). */
export function camelKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [
      key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()),
      v,
    ]),
  );
}

/** --json: every event as one JSON line on stdout (docs/json.md). */
export class JsonView implements ProgressView {
  private eta = new Eta([]);

  constructor(private readonly out: Output) {}

  start(info: ViewStart): void {
    this.eta = new Eta(info.estimates, info.gapSeconds);
    this.out.record({
      type: 'start',
      total: info.total,
      title: info.title,
      estimatedSeconds: this.eta.seconds(),
    });
  }

  event(event: ProgressEvent): void {
    if (event.type === 'log' && !this.out.verbose) return;
    // A whole result is not a progress line: its figures come with the run's `run` record.
    if (event.type === 'result') return;
    if (event.type === 'workload') {
      const { v: _version, ...rest } = event.event as ProtocolEvent & { v?: number };
      this.out.record({
        type: 'progress',
        kind: 'workload',
        experimentId: event.experimentId,
        event: camelKeys(rest),
      });
      return;
    }
    const { type, ...rest } = event;
    this.out.record({ type: 'progress', kind: type, ...rest });
  }

  finished(run: RunFinished): void {
    this.out.record({ type: 'run', ...run, error: run.error ?? null });
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
