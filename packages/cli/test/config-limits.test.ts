import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { validateCommand } from '../src/commands/config.js';
import { Output } from '../src/output.js';
import { resolveSettings } from '../src/settings.js';
import { jsonLines, type LlemResult, llem, sandbox } from './llem.js';

const STACK_LINE = /^\s+at /m;
const base = 'model: builtin:tiny-gpt2\nbackend: pytorch\n';
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** The config-error contract: exit 2, nothing on stdout, one `error:` line and a `fix:` line, no stack. */
function expectConfigError(r: LlemResult, first: string | RegExp, problems = 1): string[] {
  expect(r.code, r.stderr.slice(0, 2000)).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(problems + 1);
  if (typeof first === 'string') expect(lines[0]).toBe(first);
  else expect(lines[0]).toMatch(first);
  expect(lines[problems]).toMatch(/^fix: /);
  expect(r.stderr).not.toMatch(STACK_LINE);
  expect(r.stderr).not.toMatch(/Maximum call stack|--verbose/);
  return lines;
}

describe('config input that must never crash llem: exit 2, one line naming the file', () => {
  const box = sandbox();

  it('a self-referencing alias names the file, the field path and the alias', async () => {
    const path = box.write('r.yaml', 'model: x\nmetadata: &r {self: *r}\n');
    const r = await llem(['config', 'validate', path], box.env);
    expectConfigError(
      r,
      `error: ${path}: metadata.self: the alias *r refers to a mapping that contains it (a cycle).`,
    );
    const run = await llem(['run', path], box.env);
    expectConfigError(
      run,
      `error: ${path}: metadata.self: the alias *r refers to a mapping that contains it (a cycle).`,
    );
  });

  it('a longer alias cycle, through a list', async () => {
    const path = box.write('c.yaml', 'model: x\na: &a\n  b: &b [1, {c: *a}]\n');
    const r = await llem(['config', 'validate', path], box.env);
    expectConfigError(
      r,
      `error: ${path}: a.b[1].c: the alias *a refers to a mapping that contains it (a cycle).`,
    );
  });

  it('5,000 levels of nesting in YAML and JSON, in metadata and in a list', async () => {
    const depth = 5000;
    const files = [
      box.write('deep-map.yaml', `${base}metadata: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\n`),
      box.write('deep-list.yaml', `${base}metadata:\n  l: ${'['.repeat(depth)}1${']'.repeat(depth)}\n`),
      box.write(
        'deep-map.json',
        `{"model": "x", "metadata": ${'{"a": '.repeat(depth)}1${'}'.repeat(depth)}}`,
      ),
      box.write('deep-list.json', `{"model": "x", "gpus": ${'['.repeat(depth)}1${']'.repeat(depth)}}`),
    ];
    for (const path of files) {
      const r = await llem(['config', 'validate', path], box.env);
      expectConfigError(r, new RegExp(`^error: ${path.replace(/[.]/g, '\\.')}.*nested too deeply`));
    }
  });

  it('200,000 bad items in a list: the first 100 problems, then how many more', async () => {
    const path = box.write('gpus.yaml', `${base}gpus: [${Array(200_000).fill(-1).join(', ')}]\n`);
    const r = await llem(['config', 'validate', path], box.env);
    const lines = expectConfigError(r, `error: ${path}: gpus[0]: Too small: expected number to be >=0`, 101);
    expect(lines[100]).toBe('  … and 199900 more problems like these');
  });
});

describe('the cap on a study’s experiment-cycles (max_runs)', () => {
  const box = sandbox();
  const sweep = (n: number) => `${base}sweep:\n  n: [${range(n).join(', ')}]\n`;

  it('100,000 points are valid under the default cap', async () => {
    const path = box.write('s100k.yaml', sweep(100_000));
    const r = await llem(['config', 'validate', path], box.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/100000 experiment\(s\) x 1 cycle\(s\) = 100000 run\(s\)/);
  });

  it('200,000 points are refused with the count and how to raise the cap; LLEM_MAX_RUNS raises it', async () => {
    const path = box.write('s200k.yaml', sweep(200_000));
    const r = await llem(['config', 'validate', path], box.env);
    const [, fix] = expectConfigError(
      r,
      `error: ${path}: the study expands to 200000 experiment-cycles (200000 experiment(s) x 1 cycle(s)), more than the limit of 100000.`,
    );
    expect(fix).toMatch(/--max-runs N, LLEM_MAX_RUNS=N or defaults\.max_runs/);
    expectConfigError(await llem(['run', path, '--dry-run'], box.env), /200000 experiment-cycles/);
    const raised = await llem(['config', 'validate', path], { ...box.env, LLEM_MAX_RUNS: '200000' });
    expect(raised.code, raised.stderr).toBe(0);
    expect(raised.stdout).toMatch(/200000 run\(s\)/);
  });

  it('a 1000 x 1000 grid fails before it is built', async () => {
    const path = box.write(
      'grid.yaml',
      `${base}sweep:\n  n: [${range(1000).join(', ')}]\n  decoder.top_k: [${range(1000).join(', ')}]\n`,
    );
    const r = await llem(['config', 'validate', path], box.env);
    expectConfigError(
      r,
      /the study expands to 1000000 experiment-cycles \(1000000 experiment\(s\) x 1 cycle\(s\)\)/,
    );
  });

  it('defaults.max_runs in the user config; a bad LLEM_MAX_RUNS or defaults.max_runs is named', async () => {
    const path = box.write('s20.yaml', `${sweep(10)}cycles: 2\n`);
    const user = box.write('user.yaml', 'defaults:\n  max_runs: 10\n');
    const capped = await llem(['config', 'validate', path], { ...box.env, LLEM_CONFIG: user });
    expectConfigError(
      capped,
      /20 experiment-cycles \(10 experiment\(s\) x 2 cycle\(s\)\), more than the limit of 10\./,
    );
    // The environment beats the user config.
    const env = await llem(['config', 'validate', path], {
      ...box.env,
      LLEM_CONFIG: user,
      LLEM_MAX_RUNS: '20',
    });
    expect(env.code, env.stderr).toBe(0);
    expectConfigError(
      await llem(['config', 'validate', path], { ...box.env, LLEM_MAX_RUNS: 'lots' }),
      "error: LLEM_MAX_RUNS: 'lots' is not a whole number >= 1.",
    );
    const zero = box.write('zero.yaml', 'defaults:\n  max_runs: 0\n');
    expectConfigError(
      await llem(['config', 'validate', path], { ...box.env, LLEM_CONFIG: zero }),
      /zero\.yaml \(user config\): defaults\.max_runs: /,
    );
    const show = await llem(['config', 'show', '--json'], { ...box.env, LLEM_CONFIG: user });
    expect(jsonLines(show.stdout)[0]).toMatchObject({
      settings: { maxRuns: { value: 10, source: 'user-config' } },
    });
  });
});

describe('max_runs: flag > env > user config > default', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('resolves from each layer, highest first', () => {
    const box = sandbox();
    const user = box.write('user.yaml', 'defaults:\n  max_runs: 30\n');
    expect(resolveSettings({}, box.env).maxRuns).toEqual({ value: 100_000, source: 'default' });
    expect(resolveSettings({}, { ...box.env, LLEM_CONFIG: user }).maxRuns).toEqual({
      value: 30,
      source: 'user-config',
    });
    const env = { ...box.env, LLEM_CONFIG: user, LLEM_MAX_RUNS: '20' };
    expect(resolveSettings({}, env).maxRuns).toEqual({ value: 20, source: 'env' });
    expect(resolveSettings({ maxRuns: 10 }, env).maxRuns).toEqual({ value: 10, source: 'flag' });
    expect(() => resolveSettings({ maxRuns: '1.5' }, box.env)).toThrow(
      "--max-runs: '1.5' is not a whole number >= 1.",
    );
  });

  it('validateCommand takes the flag', async () => {
    const box = sandbox();
    for (const [key, value] of Object.entries(box.env)) vi.stubEnv(key, value);
    const path = box.write('s.yaml', `${base}sweep:\n  n: [1, 2, 3]\n`);
    const stdout = new PassThrough();
    const out = new Output(
      {},
      stdout as unknown as NodeJS.WriteStream,
      stdout as unknown as NodeJS.WriteStream,
    );
    await expect(validateCommand(path, out, { maxRuns: 2 })).rejects.toThrow(
      /3 experiment-cycles \(3 experiment\(s\) x 1 cycle\(s\)\), more than the limit of 2\./,
    );
    expect(await validateCommand(path, out, { maxRuns: 3 })).toBe(0);
  });
});
