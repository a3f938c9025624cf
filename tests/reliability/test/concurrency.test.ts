import { afterAll, describe, expect, it } from 'vitest';
import { echoStudy, filesUnder, llem, sandbox, statusOf, summaryOf, survivors } from './llem.js';

/**
 * Three `llem run` processes on one study and one store at the same time: every experiment-cycle
 * is measured by exactly one of them (the others reuse it or report it busy), none is lost.
 */

const EXPERIMENTS = 12;
const CYCLES = 2;
const RUNS = EXPERIMENTS * CYCLES;

describe.each(['sqlite', 'fs'] as const)('three concurrent llem run (%s store)', (store) => {
  const box = sandbox(store);
  afterAll(() => box.remove());
  const study = box.write('study.yaml', echoStudy('concurrent', EXPERIMENTS, 0.03, 2, CYCLES));

  it('measures each experiment-cycle exactly once between them', async () => {
    const results = await Promise.all([1, 2, 3].map(() => llem(['run', study, '--json'], box.env)));
    const measuredBy = new Map<string, number[]>();
    for (const [index, result] of results.entries()) {
      // 1 = some runs were busy (measured by another process at that moment), never a crash.
      expect([0, 1], result.stderr).toContain(result.code);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      const summary = summaryOf(result.stdout);
      expect(summary.counts.total).toBe(RUNS);
      expect(summary.counts.failed).toBe(0);
      for (const run of summary.runs) {
        expect(['done', 'reused', 'busy']).toContain(run.status);
        if (run.status === 'done')
          measuredBy.set(run.experimentId, [...(measuredBy.get(run.experimentId) ?? []), index]);
      }
    }
    expect(measuredBy.size).toBe(RUNS);
    for (const [id, by] of measuredBy) expect(by, id).toHaveLength(1);

    const { experiments, corrupt } = await statusOf(box.env);
    expect(corrupt).toEqual([]);
    expect(experiments).toHaveLength(RUNS);
    for (const state of experiments)
      expect(state).toMatchObject({ phase: 'done', failed: false, attempt: 1 });
    expect(filesUnder(box.resultsDir).filter((f) => /(^|\/)result\.json$/.test(f))).toHaveLength(RUNS);
    expect(await survivors(box.dir)).toEqual([]);
  });
});
