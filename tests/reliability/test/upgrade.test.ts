import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { filesUnder, llem, sandbox, statusOf, summaryOf } from './llem.js';

/**
 * A study measured by an older llem resumes with this one without measuring anything again:
 * fixtures/store-v0.1 holds the fs and SQLite stores (state schema version 1) and results that
 * llem 0.1 wrote for fixtures/store-v0.1/study.yaml (see its README).
 */

const fixture = fileURLToPath(new URL('./fixtures/store-v0.1/', import.meta.url));
const RUNS = 6;

describe.each(['fs', 'sqlite'] as const)('a %s store written by llem 0.1', (store) => {
  const box = sandbox(store);
  afterAll(() => box.remove());
  cpSync(join(fixture, store, 'state'), box.stateDir, { recursive: true });
  cpSync(join(fixture, store, 'results'), box.resultsDir, { recursive: true });
  const original = readFileSync(join(fixture, 'study.yaml'), 'utf8');
  const results = () =>
    filesUnder(box.resultsDir)
      .filter((f) => f.endsWith('result.json'))
      .map((f) => readFileSync(join(box.resultsDir, f), 'utf8'));
  const before = results();

  it.each([
    ['the same study file (runner:)', original],
    ['the file with runner: renamed launch:', original.replace('runner: local', 'launch: local')],
  ])('resumes %s: every run reused, no result touched', async (_what, text) => {
    const study = box.write('study.yaml', text);
    const r = await llem(['run', study, '--json'], box.env);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r.stdout).counts).toMatchObject({ total: RUNS, reused: RUNS, done: 0, failed: 0 });
    expect(results()).toEqual(before);
    const { experiments, corrupt } = await statusOf(box.env);
    expect(corrupt).toEqual([]);
    expect(experiments).toHaveLength(RUNS);
    for (const state of experiments)
      expect(state).toMatchObject({ phase: 'done', failed: false, attempt: 1 });
  });
});
