import { existsSync, type FSWatcher, mkdirSync, readdirSync, watch } from 'node:fs';
import { join } from 'node:path';
import { FAILPOINTS, SeededRandom } from '@llem/core/orchestration';
import { afterAll, describe, expect, it } from 'vitest';
import {
  echoStudy,
  finished,
  MeasuredOnce,
  runToCompletion,
  sandbox,
  startLlem,
  statusOf,
  summaryOf,
  survivors,
} from './llem.js';

/**
 * Crashes at the moments that matter, on both stores: between the workload's window end and the
 * state's `done` there are several crash points (docs/reliability.md lists them). A kill at each
 * must never make llem measure a run again once its result exists, nor replace that result.
 *
 * Two ways to land a kill there: llem's own fail points (LLEM_FAILPOINTS: the process SIGKILLs
 * itself exactly at the named point, deterministic), and an outside killer that watches what a
 * user can see (the `--json` stream's window-end and done events, result directories appearing in
 * the results folder) and SIGKILLs llem the moment it sees one, as the independent fault test did.
 */

const EXPERIMENTS = 8;
const CYCLES = 2;
const RUNS = EXPERIMENTS * CYCLES;
const WATCHED_EXPERIMENTS = 20;
const SEED = 20261201;

async function finalCheck(box: ReturnType<typeof sandbox>, study: string, once: MeasuredOnce, runs = RUNS) {
  const final = await runToCompletion(study, box.env);
  const summary = summaryOf(final.stdout);
  expect(final.code, `${JSON.stringify(summary.counts)}\n${final.stderr}`).toBe(0);
  expect(summary.counts.done! + summary.counts.reused!).toBe(runs);
  expect(once.violations()).toEqual([]);
  expect(once.seen).toBe(runs);
  const { experiments, corrupt } = await statusOf(box.env);
  expect(corrupt).toEqual([]);
  expect(experiments).toHaveLength(runs);
  for (const state of experiments) expect(state).toMatchObject({ phase: 'done', failed: false });
  expect(await survivors(box.dir)).toEqual([]);
}

describe.each(['fs', 'sqlite'] as const)('crash points (%s store)', (store) => {
  describe('fail points', () => {
    const box = sandbox(store);
    afterAll(() => box.remove());
    const study = box.write('study.yaml', echoStudy('points', EXPERIMENTS, 0.01, 2, CYCLES));
    const once = new MeasuredOnce(box);

    it('a SIGKILL at each point between window end and done never remeasures a committed result', async () => {
      let killed = 0;
      for (const point of FAILPOINTS) {
        for (const hit of [1, 2]) {
          const child = startLlem(['run', study, '--json'], {
            ...box.env,
            LLEM_FAILPOINTS: `${point}@${hit}`,
          });
          const result = await finished(child);
          if (result.signal === 'SIGKILL') killed++;
          else expect(result.code, result.stderr).toBe(0);
          once.snapshot();
          expect(once.violations(), `after ${point}@${hit}`).toEqual([]);
        }
      }
      // Every point was reached and killed llem while runs were left to do.
      expect(killed).toBeGreaterThanOrEqual(FAILPOINTS.length);
      await finalCheck(box, study, once);
    });
  });

  describe('outside killer', () => {
    const box = sandbox(store);
    afterAll(() => box.remove());
    // Bigger: each kill lands after 1-3 events, and the study must outlast 12 of them.
    const study = box.write('study.yaml', echoStudy('watched', WATCHED_EXPERIMENTS, 0.01, 2, CYCLES));
    const once = new MeasuredOnce(box);

    it('a SIGKILL the moment a window ends, a result appears or a run is done never remeasures', async () => {
      const random = new SeededRandom(SEED + (store === 'fs' ? 0 : 1));
      const triggers = ['window-end', 'result-dir', 'done'] as const;
      let killed = 0;
      const outcomes: string[] = [];
      mkdirSync(box.resultsDir, { recursive: true });
      for (let i = 0; i < 12; i++) {
        const trigger = triggers[i % triggers.length]!;
        const nth = 1 + random.nextBelow(3);
        const child = startLlem(['run', study, '--json'], box.env);
        const done = finished(child);
        let seen = 0;
        const fire = () => {
          if (++seen === nth) child.kill('SIGKILL');
        };
        let watcher: FSWatcher | undefined;
        if (trigger === 'result-dir') {
          // A result directory appears by one rename into the study folder.
          const studyDir = join(box.resultsDir, readdirSync(box.resultsDir).find((n) => !n.startsWith('.'))!);
          watcher = watch(studyDir, (_event, name) => {
            if (name && /^[^.][^/]*_c\d+$/.test(String(name)) && existsSync(join(studyDir, String(name))))
              fire();
          });
        } else {
          let buffer = '';
          child.stdout!.on('data', (chunk: Buffer) => {
            buffer += chunk.toString();
            const lines = buffer.split('\n');
            buffer = lines.pop()!;
            for (const line of lines) {
              if (trigger === 'window-end' && line.includes('"event":"window-end"')) fire();
              if (trigger === 'done' && line.includes('"kind":"step"') && line.includes('"step":"done"'))
                fire();
            }
          });
        }
        const result = await done;
        watcher?.close();
        if (result.signal === 'SIGKILL') killed++;
        outcomes.push(`${trigger}#${nth}: ${result.signal ?? result.code}`);
        once.snapshot();
        expect(once.violations(), `after a kill on ${trigger} #${nth}`).toEqual([]);
      }
      expect(killed, outcomes.join('; ')).toBeGreaterThanOrEqual(8);
      await finalCheck(box, study, once, WATCHED_EXPERIMENTS * CYCLES);
    });
  });
});
