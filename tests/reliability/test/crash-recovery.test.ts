import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExperimentResultSchema, ExperimentStateSchema } from '@llem/core';
import { SeededRandom } from '@llem/core/orchestration';
import { afterAll, describe, expect, it } from 'vitest';
import {
  echoStudy,
  filesUnder,
  finished,
  llem,
  MeasuredOnce,
  sandbox,
  sleep,
  startLlem,
  statusOf,
  summaryOf,
  survivors,
} from './llem.js';

/**
 * Crash recovery: a study of 30 echo experiments is SIGKILLed at 50 seeded random moments and
 * restarted each time; a final run completes it. Every experiment-cycle ends done exactly once,
 * every state record and result file parses, and no process of the study is left.
 */

const KILLS = 50;
const EXPERIMENTS = 30;
const SEED = 20261128;

describe.each(['fs', 'sqlite'] as const)('crash recovery (%s store)', (store) => {
  const box = sandbox(store);
  afterAll(() => box.remove());
  const study = box.write('study.yaml', echoStudy('crash', EXPERIMENTS, 0.03));
  const once = new MeasuredOnce(box);

  it(`survives ${KILLS} SIGKILLs at random moments and finishes every experiment once`, async () => {
    const random = new SeededRandom(SEED + (store === 'fs' ? 0 : 1));
    const kills: number[] = [];
    for (let i = 0; i < KILLS; i++) {
      const child = startLlem(['run', study, '--json'], box.env);
      const done = finished(child);
      // Start-up takes ~0.3-0.5 s; each experiment ~0.15 s: moments spread over both.
      const delay = random.nextBelow(900);
      await sleep(delay);
      child.kill('SIGKILL');
      const result = await done;
      once.snapshot();
      if (result.signal === 'SIGKILL') kills.push(delay);
      else {
        // It finished before the kill. Exit 1 only for `busy`: the workload of the llem killed just
        // before was still running (its watchdog ends it within moments), so it was not touched.
        const summary = summaryOf(result.stdout);
        const counts = JSON.stringify(summary.counts);
        expect(summary.counts.failed, counts).toBe(0);
        expect(
          result.code === 0 || (result.code === 1 && summary.counts.busy! > 0),
          `exit ${result.code}: ${counts}\n${result.stderr}`,
        ).toBe(true);
      }
    }
    expect(kills.length).toBeGreaterThan(KILLS / 2);

    // A killed llem leaves its workload to the runner's watchdog, which ends it: nothing survives.
    expect(await survivors(box.dir)).toEqual([]);
    // The last killed llem's workload may still be ending (its watchdog stops it within moments);
    // while it lives, its run is rightly busy. Nothing else may be: a claimed state records its
    // owner in the same write that creates it, so a dead owner is seen at once.
    let final = await llem(['run', study, '--json'], box.env);
    const deadline = Date.now() + 10_000;
    while (final.code === 1 && summaryOf(final.stdout).counts.busy! > 0 && Date.now() < deadline) {
      expect(summaryOf(final.stdout).counts.failed).toBe(0);
      await sleep(500);
      final = await llem(['run', study, '--json'], box.env);
    }
    const explain = () => {
      const last = summaryOf(final.stdout);
      return `${JSON.stringify(last.counts)} ${JSON.stringify(last.runs.filter((r) => r.status !== 'reused' && r.status !== 'done'))}\n${final.stderr}`;
    };
    expect(final.code, explain()).toBe(0);
    const summary = summaryOf(final.stdout);
    expect(summary.counts.total).toBe(EXPERIMENTS);
    expect(summary.counts.done! + summary.counts.reused!).toBe(EXPERIMENTS);
    expect(summary.counts.failed).toBe(0);

    // Each experiment-cycle has one state, done and not failed, whose result file parses and matches.
    const { experiments, corrupt } = await statusOf(box.env);
    expect(corrupt).toEqual([]);
    expect(experiments).toHaveLength(EXPERIMENTS);
    expect(new Set(experiments.map((e) => e.experimentId)).size).toBe(EXPERIMENTS);
    for (const state of experiments) expect(state).toMatchObject({ phase: 'done', failed: false });
    const resultFiles = filesUnder(box.resultsDir).filter((f) => /(^|\/)result\.json$/.test(f));
    expect(resultFiles).toHaveLength(EXPERIMENTS);
    const byId = new Map(experiments.map((e) => [e.experimentId, e]));
    for (const file of resultFiles) {
      const result = ExperimentResultSchema.parse(
        JSON.parse(readFileSync(join(box.resultsDir, file), 'utf8')),
      );
      expect(byId.get(result.experiment_id)?.attempt).toBe(result.attempt);
    }
    if (store === 'fs') {
      const records = filesUnder(box.stateDir).filter((f) => /^[^/.][^/]*\.json$/.test(f));
      expect(records).toHaveLength(EXPERIMENTS);
      for (const record of records)
        ExperimentStateSchema.parse(JSON.parse(readFileSync(join(box.stateDir, record), 'utf8')));
    }
    // No experiment-cycle was measured again, nor its result replaced, once its result existed.
    expect(once.violations()).toEqual([]);
    expect(await survivors(box.dir)).toEqual([]);
  });
});
