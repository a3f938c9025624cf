import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { echoStudy, llem, MeasuredOnce, sandbox, statusOf, summaryOf } from './llem.js';

/**
 * A third-party executor through the built CLI: `--executor reverse`, found through `plugins:` in
 * the study file or LLEM_PLUGINS, with its option from `--executor-option`, runs the study's runs
 * in reverse plan order (its log says so) and measures each exactly once (the echo workload's
 * window journal says so).
 */

const reverseExecutor = fileURLToPath(new URL('./fixtures/llem-executor-reverse.mjs', import.meta.url));

describe('a third-party executor through llem', () => {
  const box = sandbox('fs');
  afterAll(() => box.remove());
  const once = new MeasuredOnce(box);
  const study = box.write('study.yaml', `plugins: [${reverseExecutor}]\n${echoStudy('reverse', 3)}`);
  const log = join(box.dir, 'reverse.log');
  const reverse = ['--executor', 'reverse', '--executor-option', `log=${log}`];
  const executorLog = () => readFileSync(log, 'utf8').trim().split('\n');

  it('runs every run of a study once, through the executor named by --executor (found through plugins:)', async () => {
    const r = await llem(['run', study, ...reverse, '--json'], box.env);
    expect(r.code, r.stderr).toBe(0);
    const summary = summaryOf(r.stdout);
    expect(summary.counts).toMatchObject({ total: 3, done: 3, failed: 0 });
    const ids = summary.runs.map((run) => run.experimentId);
    // Through that executor: it started the runs in reverse plan order.
    expect(executorLog()).toEqual([...ids].reverse());
    // Once: one measured window per run, each result the first and only one.
    expect(once.violations()).toEqual([]);
    expect([...once.windows().entries()].sort()).toEqual([...ids].sort().map((id) => [id, [1]]));
    const { experiments } = await statusOf(box.env);
    expect(experiments.map((s) => [s.experimentId, s.phase, s.failed, s.attempt]).sort()).toEqual(
      [...ids].sort().map((id) => [id, 'done', false, 1]),
    );

    // A rerun goes through it again and measures nothing.
    const again = await llem(['run', study, ...reverse, '--json'], box.env);
    expect(again.code, again.stderr).toBe(0);
    expect(summaryOf(again.stdout).counts).toMatchObject({ total: 3, reused: 3, done: 0 });
    expect(executorLog()).toEqual([...[...ids].reverse(), ...[...ids].reverse()]);
    expect(once.violations()).toEqual([]);
  });

  it('an unknown executor name is exit 2 naming what was tried', async () => {
    const plain = box.write('plain.yaml', echoStudy('unknown-executor', 1));
    const r = await llem(['run', plain, '--executor', 'nosuch'], {
      ...box.env,
      LLEM_PLUGINS: reverseExecutor,
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("Unknown executor 'nosuch'");
    expect(r.stderr).toMatch(/built-in executors \(local, slurm\)/);
    expect(r.stderr).toContain(`plugins listed in config/LLEM_PLUGINS (${reverseExecutor})`);
    expect(r.stderr).toMatch(/llem-executor-nosuch/);
  });

  it("an option the executor does not take is the executor's own exit 2", async () => {
    const r = await llem(['run', study, '--executor', 'reverse', '--executor-option', 'colour=red'], box.env);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('The reverse executor has no option colour (it takes: log).');
  });
});
