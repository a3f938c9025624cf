import { readFileSync } from 'node:fs';
import { SeededRandom } from '@llem/core/orchestration';
import { afterAll, describe, expect, it } from 'vitest';
import {
  echoStudy,
  finished,
  llem,
  sandbox,
  sleep,
  startLlem,
  statusOf,
  summaryOf,
  survivors,
  waitForLine,
} from './llem.js';

/**
 * SIGINT and SIGTERM at 20 seeded random moments of a running study (some step of an experiment
 * plus a random delay): llem exits 130, the experiment it was running is failed with kind
 * `interrupted`, no workload process survives, and rerunning finishes the study.
 */

const MOMENTS = 20;
const EXPERIMENTS = 24;
const TRIGGERS = ['launching', 'measuring', 'measuring', 'measuring', 'collecting'] as const;

describe('interrupts', () => {
  const box = sandbox('sqlite');
  afterAll(() => box.remove());
  const study = box.write('study.yaml', echoStudy('interrupts', EXPERIMENTS, 0.1, 4));

  it(`exits 130 with the run failed + interrupted and no orphan, at ${MOMENTS} moments`, async () => {
    const random = new SeededRandom(7130);
    let interruptedStates = 0;
    for (let i = 0; i < MOMENTS; i++) {
      const signal = i % 2 === 0 ? 'SIGINT' : 'SIGTERM';
      const trigger = TRIGGERS[random.nextBelow(TRIGGERS.length)]!;
      const child = startLlem(['run', study, '--json'], box.env);
      const done = finished(child);
      await waitForLine(child, (r) => r.type === 'progress' && r.kind === 'step' && r.step === trigger);
      await sleep(random.nextBelow(250));
      child.kill(signal);
      const result = await done;
      const moment = `moment ${i}: ${signal} after ${trigger}`;
      expect(result.code, `${moment}\n${result.stderr}`).toBe(130);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(await survivors(box.dir, 3000), moment).toEqual([]);

      const summary = summaryOf(result.stdout);
      expect(summary.interrupted, moment).toBe(true);
      const { experiments } = await statusOf(box.env);
      const byId = new Map(experiments.map((e) => [e.experimentId, e]));
      for (const run of summary.runs.filter((r) => r.status === 'interrupted')) {
        interruptedStates++;
        expect(byId.get(run.experimentId), moment).toMatchObject({
          failed: true,
          failureKind: 'interrupted',
        });
        expect(byId.get(run.experimentId)?.errorMessage, moment).toMatch(/interrupted/i);
      }
      // Nothing else is half-done: every state is done, or failed because it was interrupted.
      for (const state of experiments)
        if (state.phase !== 'done' || state.failed)
          expect(state, moment).toMatchObject({ failed: true, failureKind: 'interrupted' });
    }
    // Most moments fall inside an experiment (the rest between two, where nothing is running).
    expect(interruptedStates).toBeGreaterThanOrEqual(MOMENTS * 0.75);

    const final = await llem(['run', study, '--json'], box.env);
    expect(final.code, final.stderr).toBe(0);
    const { experiments } = await statusOf(box.env);
    expect(experiments).toHaveLength(EXPERIMENTS);
    for (const state of experiments) expect(state).toMatchObject({ phase: 'done', failed: false });
    expect(experiments.filter((e) => e.attempt > 1).length).toBeGreaterThan(0);
  });
});

/**
 * Has llem installed its signal handlers yet? Node itself catches SIGINT and SIGTERM from its
 * start, but not SIGHUP: llem's first line catches all three at once, so a caught SIGHUP (bit 0 of
 * SigCgt in /proc/<pid>/status) says llem's handlers are in place.
 */
function handlersInstalled(pid: number): boolean {
  try {
    const mask = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^SigCgt:\s*([0-9a-f]+)$/m)?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & 1n) === 1n;
  } catch {
    return false;
  }
}

describe('signals during start-up', () => {
  const box = sandbox('sqlite');
  afterAll(() => box.remove());
  const study = box.write('study.yaml', echoStudy('startup', 4, 0.01));

  it('a SIGINT, SIGTERM or SIGHUP before the first run starts ends with exit 130 and nothing written', async () => {
    const random = new SeededRandom(4130);
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    for (let i = 0; i < 12; i++) {
      const signal = signals[i % signals.length]!;
      const child = startLlem(['run', study, '--json'], box.env);
      const done = finished(child);
      // From the moment node runs llem's first line, it catches the signal (before that, the kernel's default applies).
      while (!handlersInstalled(child.pid!) && child.exitCode === null) await sleep(2);
      await sleep(random.nextBelow(120));
      let sawRunStart = false;
      child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('"type":"progress","kind":"run-start"')) sawRunStart = true;
      });
      child.kill(signal);
      const result = await done;
      expect(result.code, `${signal} #${i}\n${result.stderr}`).toBe(130);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      if (!sawRunStart && !result.stdout.includes('"kind":"run-start"')) {
        // Stopped before any run started: no state is unfinished, no result exists.
        const { experiments } = await statusOf(box.env);
        for (const state of experiments) expect(state.phase === 'done' || state.failed).toBe(true);
      }
      expect(await survivors(box.dir, 3000)).toEqual([]);
    }
    const final = await llem(['run', study, '--json'], box.env);
    expect(final.code, final.stderr).toBe(0);
  });
});
