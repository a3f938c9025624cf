import { mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/index.js';
import {
  formatResultProblem,
  MAX_RESULT_BYTES,
  type ResultProblem,
  readResults,
} from '../../src/results/index.js';
import { makeResult, tempDir } from '../../src/testing/result-fixtures.js';

async function put(dir: string, rel: string, text: string): Promise<string> {
  const path = join(dir, rel);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
  return path;
}

/** A study directory with two good results and one of each kind of bad file. */
async function studyDir(): Promise<{ dir: string; good: string }> {
  const dir = await tempDir();
  const good = JSON.stringify(makeResult({ cycle: 0 }), null, 2);
  await put(dir, 'exp-a/result.json', good);
  await put(dir, 'exp-b/result.json', JSON.stringify(makeResult({ cycle: 1, batchSize: 4 })));
  await put(dir, 'exp-c/result.json', good.slice(0, 200));
  await put(dir, 'exp-d/result.json', 'schema_version: 1.0\n');
  await put(
    dir,
    'exp-e/result.json',
    JSON.stringify({ ...JSON.parse(good), schema_version: '2.0', new_field: 1 }),
  );
  await put(
    dir,
    'exp-f/result.json',
    JSON.stringify({ schema_version: '2.0', experiment_id: 'x', measurement_config_hash: 'abc' }),
  );
  await put(dir, 'exp-g/result.json', JSON.stringify({ ...JSON.parse(good), energy: { total: 'lots' } }));
  await put(dir, 'exp-h/result.json', '');
  await put(dir, 'exp-a/notes.json', '{}');
  await put(dir, '.quarantine/old/result.json', 'garbage');
  return { dir, good };
}

describe('readResults', () => {
  it('loads good results and names every bad file with its reason, in path order', async () => {
    const { dir } = await studyDir();
    const seen: ResultProblem[] = [];
    const { results, problems } = await readResults(dir, { onProblem: (p) => seen.push(p) });
    expect(results.map((r) => r.dir)).toEqual([join(dir, 'exp-a'), join(dir, 'exp-b')]);
    expect(results[1]?.result.cycle).toBe(1);
    expect(problems.map((p) => [p.path.slice(dir.length + 1), p.kind])).toEqual([
      ['exp-c/result.json', 'truncated'],
      ['exp-d/result.json', 'not-json'],
      ['exp-e/result.json', 'future-version'],
      ['exp-f/result.json', 'not-a-result'],
      ['exp-g/result.json', 'invalid'],
      ['exp-h/result.json', 'empty'],
    ]);
    expect(seen).toEqual(problems);
    expect(problems[2]?.reason).toMatch(/newer llem \(result schema 2\.0; this llem reads 1\.0\)/);
    expect(problems[3]?.reason).toMatch(/Python LLenergyMeasure/);
    expect(problems[4]?.reason).toMatch(/energy\.\S+: /);
    expect(formatResultProblem(problems[0] as ResultProblem)).toMatch(
      /exp-c\/result\.json: the JSON ends early .* Delete it/,
    );
    expect(problems.every((p) => p.quarantinedTo === undefined)).toBe(true);
  });

  it('does not read a huge file into memory', async () => {
    const dir = await tempDir();
    const path = join(dir, 'result.json');
    await writeFile(path, '');
    await truncate(path, MAX_RESULT_BYTES + 1);
    const { problems } = await readResults(dir, { quarantine: true });
    expect(problems).toMatchObject([{ path, kind: 'too-large' }]);
    expect(problems[0]?.quarantinedTo).toBeUndefined();
  });

  it('reads a single result.json and refuses a path that does not exist', async () => {
    const { dir } = await studyDir();
    const { results, problems } = await readResults(join(dir, 'exp-b', 'result.json'));
    expect(results).toHaveLength(1);
    expect(problems).toEqual([]);
    await expect(readResults(join(dir, 'nope'))).rejects.toThrow(ConfigError);
  });

  it('quarantines bad files (not newer versions) without ever overwriting an earlier quarantined file', async () => {
    const { dir } = await studyDir();
    await put(dir, '.quarantine/exp-c__result.json', 'an earlier bad file');
    const { problems } = await readResults(dir, { quarantine: true });
    const moved = problems.filter((p) => p.quarantinedTo);
    expect(moved.map((p) => p.kind)).toEqual(['truncated', 'not-json', 'not-a-result', 'invalid', 'empty']);
    expect(problems.find((p) => p.kind === 'future-version')?.quarantinedTo).toBeUndefined();
    expect(await readFile(join(dir, '.quarantine', 'exp-c__result.json'), 'utf8')).toBe(
      'an earlier bad file',
    );
    expect(problems[0]?.quarantinedTo).toBe(join(dir, '.quarantine', 'exp-c__result.json.1'));
    expect(await readdir(join(dir, 'exp-c'))).toEqual([]);
    expect((await readdir(join(dir, '.quarantine'))).sort()).toEqual(
      [
        'exp-c__result.json',
        'exp-c__result.json.1',
        'exp-d__result.json',
        'exp-f__result.json',
        'exp-g__result.json',
        'exp-h__result.json',
        'old',
      ].sort(),
    );
    // a second read finds only the good files and the newer-version one
    const again = await readResults(dir, { quarantine: true });
    expect(again.results).toHaveLength(2);
    expect(again.problems.map((p) => p.kind)).toEqual(['future-version']);
  });
});
