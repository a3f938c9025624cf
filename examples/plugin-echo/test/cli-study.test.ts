import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExperimentResultSchema } from '@llem/core';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The echo backend as a user gets it: the built `llem` binary, run in a project whose
 * node_modules holds the built package `llem-backend-echo`, found by the name `backend: echo`.
 */

const packageDir = fileURLToPath(new URL('../', import.meta.url));
const bin = fileURLToPath(new URL('../../../packages/cli/dist/bin.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'llem-echo-project-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const study = `name: echo-mini
model: echo-model
backend: echo
launch: local
n: 3
baseline: { enabled: false }
energy: { enabled: false }
echo: { seconds_per_request: 0.01, input_tokens_per_request: 5 }
sweep:
  echo.output_tokens_per_request: [4, 8]
cycles: 2
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function llem(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        cwd,
        env: {
          PATH: process.env.PATH,
          HOME: join(root, 'home'),
          XDG_CONFIG_HOME: join(root, 'config'),
          ...env,
        },
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function summary(stdout: string): {
  counts: Record<string, number>;
  runs: { resultPath: string | null; status: string }[];
} {
  const line = stdout.split('\n').find((l) => l.startsWith('{"type":"summary"'));
  expect(line, stdout).toBeDefined();
  return JSON.parse(line!);
}

function projectDir(name: string, withPackage: boolean): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  if (withPackage) symlinkSync(packageDir, join(dir, 'node_modules', 'llem-backend-echo'));
  return dir;
}

describe('llem run with the echo backend installed as llem-backend-echo', () => {
  const dir = projectDir('installed', true);
  const path = join(dir, 'study.yaml');
  writeFileSync(path, study);
  const store = ['--store', 'fs', '--state-dir', join(dir, 'state'), '--results-dir', join(dir, 'results')];

  it('measures 2 experiments x 2 cycles with synthetic token counts', async () => {
    const run = await llem(['run', 'study.yaml', ...store, '--json'], dir);
    expect(run.code, run.stderr).toBe(0);
    const s = summary(run.stdout);
    expect(s.counts).toMatchObject({ total: 4, done: 4, failed: 0 });
    const outputs = s.runs.map((r) => {
      const result = ExperimentResultSchema.parse(JSON.parse(readFileSync(r.resultPath!, 'utf8')));
      expect(result.workload.input_tokens).toBe(15);
      return result.workload.output_tokens;
    });
    expect(outputs.sort((a, b) => a - b)).toEqual([12, 12, 24, 24]);
  });

  it('reuses every experiment-cycle on a second run and lists them done in status', async () => {
    const again = await llem(['run', 'study.yaml', ...store, '--json'], dir);
    expect(again.code, again.stderr).toBe(0);
    expect(summary(again.stdout).counts).toMatchObject({ total: 4, done: 0, reused: 4 });
    const status = await llem(['status', '--json', '--store', 'fs', '--state-dir', join(dir, 'state')], dir);
    const experiments = (
      JSON.parse(status.stdout.split('\n')[0]!) as { experiments: { phase: string; failed: boolean }[] }
    ).experiments;
    expect(experiments).toHaveLength(4);
    for (const e of experiments) expect(e).toMatchObject({ phase: 'done', failed: false });
  });

  it('records a failing workload as failed with its message, exit 1', async () => {
    writeFileSync(
      join(dir, 'fail.yaml'),
      study
        .replace('name: echo-mini', 'name: echo-fail')
        .replace('input_tokens_per_request: 5', "fail_at: window, fail_message: 'disk on fire'"),
    );
    const run = await llem(['run', 'fail.yaml', ...store], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('disk on fire');
  });
});

describe('llem run with the echo backend named by module path', () => {
  const moduleFile = join(packageDir, 'dist/index.js');

  it('loads it from plugins: in the study file, relative to the file', async () => {
    const dir = projectDir('listed', false);
    mkdirSync(join(dir, 'studies'));
    symlinkSync(packageDir, join(dir, 'echo-plugin'));
    writeFileSync(join(dir, 'studies/study.yaml'), `${study}plugins: [../echo-plugin/dist/index.js]\n`);
    const run = await llem(
      [
        'run',
        'studies/study.yaml',
        '--store',
        'fs',
        '--state-dir',
        join(dir, 'state'),
        '--results-dir',
        join(dir, 'results'),
        '--json',
      ],
      dir,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(summary(run.stdout).counts).toMatchObject({ total: 4, done: 4 });
  });

  it('loads it from LLEM_PLUGINS', async () => {
    const dir = projectDir('env', false);
    writeFileSync(join(dir, 'study.yaml'), study);
    const run = await llem(
      [
        'run',
        'study.yaml',
        '--store',
        'sqlite',
        '--state-dir',
        join(dir, 'state'),
        '--results-dir',
        join(dir, 'results'),
        '--json',
      ],
      dir,
      { LLEM_PLUGINS: moduleFile },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(summary(run.stdout).counts).toMatchObject({ total: 4, done: 4 });
  });

  it('without the package or a listed module: exit 2 naming what was tried', async () => {
    const dir = projectDir('missing', false);
    writeFileSync(join(dir, 'study.yaml'), study);
    const run = await llem(['run', 'study.yaml', '--store', 'fs', '--state-dir', join(dir, 'state')], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Unknown backend 'echo'");
    expect(run.stderr).toContain('llem-backend-echo');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
