import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tinyPytorchYaml } from '@llem/test-kit';
import { describe, expect, inject, it } from 'vitest';
import { finished, jsonLines, llem, processesMentioning, sandbox, startLlem } from './llem.js';

/** A smaller quickstart: 2 experiments x 1 cycle of the seeded tiny GPT-2 on the CPU. */
const study = tinyPytorchYaml('name: mini\nlaunch: local\nsweep:\n  pytorch.batch_size: [1, 2]\n');

interface StateRecord {
  experimentId: string;
  phase: string;
  failed: boolean;
  failureKind: string | null;
  attempt: number;
  studyId: string | null;
}

async function states(env: NodeJS.ProcessEnv): Promise<StateRecord[]> {
  const r = await llem(['status', '--json'], env);
  expect(r.code).toBe(0);
  return (jsonLines(r.stdout)[0] as { experiments: StateRecord[] }).experiments;
}

/** Resolves when the child prints a JSON progress line matching `match`. */
function waitForLine(
  child: ReturnType<typeof startLlem>,
  match: (record: Record<string, unknown>) => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) if (line.startsWith('{') && match(JSON.parse(line))) resolve();
    });
    child.on('close', () => reject(new Error('llem exited before the awaited event')));
  });
}

describe('llem run: a study end to end, interrupted and resumed', () => {
  const box = sandbox(inject('python'));
  const path = box.write('mini.yaml', study);

  it('SIGINT mid-study: exit 130, no workload left, the state failed + interrupted', async () => {
    const child = startLlem(['run', path, '--json'], box.env);
    const result = finished(child);
    // Interrupt while the second experiment's workload is measuring.
    await waitForLine(child, (r) => r.type === 'progress' && r.kind === 'run-start' && r.position === 1);
    await waitForLine(child, (r) => r.type === 'progress' && r.kind === 'step' && r.step === 'measuring');
    child.kill('SIGINT');
    const r = await result;
    expect(r.code).toBe(130);
    const summary = jsonLines(r.stdout).find((x) => x.type === 'summary') as {
      interrupted: boolean;
      counts: Record<string, number>;
    };
    expect(summary).toMatchObject({ interrupted: true });
    expect(summary.counts.done).toBe(1);

    // Live energy of the finished run: since the meter started while the model loads and warms
    // up (window null), then since the measurement window opened, which is what the result counts.
    const records = jsonLines(r.stdout);
    const firstId = (records.find((x) => x.kind === 'run-start') as { experimentId: string }).experimentId;
    const ofFirst = records.filter((x) => x.type === 'progress' && x.experimentId === firstId);
    const windowAt = ofFirst.findIndex(
      (x) => x.kind === 'workload' && (x.event as { event: string }).event === 'window-start',
    );
    expect(windowAt).toBeGreaterThan(0);
    const energy = (from: number, to: number) =>
      ofFirst.slice(from, to).filter((x) => x.kind === 'energy') as {
        estimatedJ: number;
        measuredJ: number;
        window: { seconds: number; estimatedJ: number; measuredJ: number } | null;
      }[];
    const before = energy(0, windowAt);
    const during = energy(windowAt, ofFirst.length);
    expect(before.length).toBeGreaterThan(0);
    for (const e of before) expect(e.window).toBeNull();
    expect(during.length).toBeGreaterThan(0);
    for (const e of during) {
      expect(e.window).not.toBeNull();
      // The window's energy leaves out model load and warmup.
      expect(e.window!.estimatedJ + e.window!.measuredJ).toBeLessThan(e.estimatedJ + e.measuredJ);
    }

    // No process of this sandbox survives (zombies are being reaped by init: allow a moment).
    for (let i = 0; i < 40 && processesMentioning(box.dir).length > 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(processesMentioning(box.dir)).toEqual([]);

    const all = await states(box.env);
    expect(all).toHaveLength(2);
    expect(all.filter((s) => s.phase === 'done' && !s.failed)).toHaveLength(1);
    const interrupted = all.find((s) => s.failed)!;
    expect(interrupted).toMatchObject({ failed: true, failureKind: 'interrupted' });
  });

  it('run again: only the missing experiment-cycle runs; the table and report path are printed', async () => {
    const before = await states(box.env);
    const r = await llem(['run', path], box.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Study mini-[0-9a-f]{8}: 1 measured, 1 reused, 0 failed of 2/);
    // A column for the swept key, one row per config (n cycles), what every row shares below.
    expect(r.stdout).toMatch(/│ pytorch\.batch_size\s+│ n /);
    expect(r.stdout).toMatch(/Every row: model builtin:tiny-gpt2, backend pytorch, precision fp32/);
    expect(r.stdout).toMatch(/Report: {2}llem results report /);

    const after = await states(box.env);
    expect(after.every((s) => s.phase === 'done' && !s.failed)).toBe(true);
    const done = before.find((s) => !s.failed)!;
    const retried = before.find((s) => s.failed)!;
    // The finished one was not touched; the interrupted one got a new attempt.
    expect(after.find((s) => s.experimentId === done.experimentId)!.attempt).toBe(done.attempt);
    expect(after.find((s) => s.experimentId === retried.experimentId)!.attempt).toBe(retried.attempt + 1);

    const studyId = after[0]!.studyId!;
    const studyDir = join(box.resultsDir, studyId);
    expect(existsSync(join(studyDir, 'study.csv'))).toBe(true);
    expect(readFileSync(join(studyDir, 'study.csv'), 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('status, list and results show read what the study left', async () => {
    const status = jsonLines((await llem(['status', '--json'], box.env)).stdout)[0] as {
      studies: { experiments: number; runs: number; done: number; failed: number }[];
      experiments: { studyId: string }[];
    };
    expect(status.studies).toEqual([
      expect.objectContaining({ experiments: 2, runs: 2, done: 2, failed: 0, notStarted: 0 }),
    ]);

    const list = jsonLines((await llem(['list', '--json'], box.env)).stdout)[0] as {
      studies: { results: number; configs: number }[];
    };
    expect(list.studies).toEqual([expect.objectContaining({ results: 2, configs: 2 })]);

    const show = await llem(['results', 'show', '--json'], box.env);
    expect(show.code).toBe(0);
    const rows = jsonLines(show.stdout).filter((x) => x.type === 'aggregate') as {
      parameters: { key: string; value: unknown }[];
    }[];
    expect(
      rows.map((row) => row.parameters.find((p) => p.key === 'pytorch.batch_size')?.value).sort(),
    ).toEqual([1, 2]);

    const exported = await llem(
      ['results', 'export', '--format', 'csv', '-o', join(box.dir, 'all.csv')],
      box.env,
    );
    expect(exported.code).toBe(0);
    expect(readFileSync(join(box.dir, 'all.csv'), 'utf8').trim().split('\n')).toHaveLength(3);

    const studyDir = join(box.resultsDir, status.experiments[0]!.studyId);
    const report = await llem(['results', 'report', studyDir], box.env);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain(join(studyDir, 'report.html'));
    expect(readFileSync(join(studyDir, 'report.html'), 'utf8')).toMatch(/<html/i);
  });
});

describe('llem run: a second Ctrl+C kills at once', () => {
  const box = sandbox(inject('python'));
  const path = box.write(
    'one.yaml',
    study.replace('  pytorch.batch_size: [1, 2]\n', '  pytorch.batch_size: [1]\n'),
  );

  it('exit 130 right away, no workload left; the next cleanup or run repairs the state', async () => {
    const child = startLlem(['run', path, '--json'], box.env);
    const result = finished(child);
    await waitForLine(child, (r) => r.type === 'progress' && r.kind === 'step' && r.step === 'measuring');
    child.kill('SIGINT');
    child.kill('SIGINT');
    const r = await result;
    expect(r.code).toBe(130);
    for (let i = 0; i < 40 && processesMentioning(box.dir).length > 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(processesMentioning(box.dir)).toEqual([]);

    // Whatever state the kill left is never "done"; cleanup marks a dead measuring run failed.
    const cleanup = await llem(['cleanup', '--json'], box.env);
    expect(cleanup.code).toBe(0);
    const [state] = await states(box.env);
    expect(state).toBeDefined();
    expect(state!.phase === 'done' && !state!.failed).toBe(false);
    if (state!.phase === 'measuring') expect(state!.failed).toBe(true);

    const again = await llem(['run', path, '--json'], box.env);
    expect(again.code, again.stderr).toBe(0);
    expect((await states(box.env))[0]).toMatchObject({ phase: 'done', failed: false });
  });
});
