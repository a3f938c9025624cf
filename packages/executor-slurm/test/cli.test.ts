import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExperimentResultSchema } from '@llem/core';
import { createFsStateStore } from '@llem/state-fs';
import { describe, expect, it } from 'vitest';
import { isActiveState, SlurmCommands } from '../src/index.js';
import { echoPluginBuilt, scratch } from './helpers.js';

/** The built `llem` (global setup builds it), driving the test cluster through SLURM_CONF. */
const bin = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));
const root = scratch('cli');
// The harness venv for the tiny-gpt2 study (scripts/test.sh provisions it; this only prints its python).
const python =
  process.env.LLEM_PYTHON ??
  execFileSync(
    'bash',
    [fileURLToPath(new URL('../../backend-pytorch/harness/provision.sh', import.meta.url))],
    {
      encoding: 'utf8',
    },
  ).trim();
const env = {
  PATH: process.env.PATH,
  LLEM_PYTHON: python,
  HOME: join(root, 'home'),
  XDG_CONFIG_HOME: join(root, 'config'),
  SLURM_CONF: process.env.SLURM_CONF,
};
const stateDir = join(root, 'state');
const resultsDir = join(root, 'results');
const where = ['--store', 'fs', '--state-dir', stateDir, '--results-dir', resultsDir];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function llem(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: root, env, timeout: 300_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function summaryOf(stdout: string): {
  counts: { total: number; done: number; reused: number; failed: number };
  runs: { resultPath: string | null }[];
} {
  const line = stdout.split('\n').find((l) => l.startsWith('{"type":"summary"'));
  expect(line, stdout).toBeDefined();
  return JSON.parse(line!);
}

const echoStudy = (name: string, seconds: number, sweep = '[1, 2, 3, 4, 5, 6]', cycles = 2) => `name: ${name}
plugins: [${echoPluginBuilt}]
model: echo-model
backend: echo
n: 2
baseline: { enabled: false }
energy: { enabled: false }
echo: { seconds_per_request: ${seconds} }
sweep:
  echo.output_tokens_per_request: ${sweep}
cycles: ${cycles}
`;

describe('llem run --runner slurm (the built CLI on a real cluster)', () => {
  mkdirSync(join(root, 'home'), { recursive: true });

  it('runs a study of 6 experiments x 2 cycles through Slurm; status shows the jobs', async () => {
    writeFileSync(join(root, 'echo.yaml'), echoStudy('cli-echo', 0.05));
    const run = await llem(['run', 'echo.yaml', '--executor', 'slurm', ...where, '--json']);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(summaryOf(run.stdout).counts).toMatchObject({ total: 12, done: 12, failed: 0 });
    const status = await llem(['status', '--store', 'fs', '--state-dir', stateDir]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout.match(/slurm \d+ COMPLETED/g)).toHaveLength(12);
  });

  it('runs a builtin:tiny-gpt2 experiment through Slurm', async () => {
    writeFileSync(
      join(root, 'gpt2.yaml'),
      `name: cli-gpt2
model: builtin:tiny-gpt2
backend: pytorch
launch: local
n: 2
dataset: { source: synthetic, input_len: 8 }
max_input_tokens: 16
max_output_tokens: 4
precision: fp32
baseline: { enabled: false }
energy: { enabled: false }
warmup: { enabled: false }
experiments:
  - {}
`,
    );
    const run = await llem(['run', 'gpt2.yaml', '--executor', 'slurm', ...where, '--json']);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const summary = summaryOf(run.stdout);
    expect(summary.counts).toMatchObject({ total: 1, done: 1 });
    const result = ExperimentResultSchema.parse(
      JSON.parse(readFileSync(summary.runs[0]!.resultPath!, 'utf8')),
    );
    expect(result.workload.output_tokens).toBeGreaterThan(0);
  });

  it('refuses the sqlite store on Slurm with a clear error (exit 2), submitting nothing', async () => {
    const run = await llem([
      'run',
      'echo.yaml',
      '--executor',
      'slurm',
      '--store',
      'sqlite',
      '--state-dir',
      join(root, 'sq'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/sqlite store cannot be used with the slurm executor/);
  });

  it('Ctrl+C cancels every job of the study and exits 130; a rerun submits only what is missing', async () => {
    writeFileSync(join(root, 'slow.yaml'), echoStudy('cli-slow', 2, '[1, 2]'));
    const child = spawn(process.execPath, [bin, 'run', 'slow.yaml', '--executor', 'slurm', ...where], {
      cwd: root,
      env,
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const store = await createFsStateStore({ dir: stateDir });
    const slurm = new SlurmCommands();
    let ids: string[] = [];
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const states = (await store.list()).filter((s) => s.studyId?.startsWith('cli-slow'));
      ids = states.flatMap((s) => (s.scheduler ? [s.scheduler.jobId] : []));
      if (ids.length === 4 && [...(await slurm.squeue(ids)).values()].some((j) => j.state === 'RUNNING'))
        break;
    }
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const queue = await slurm.squeue(ids);
    for (const id of ids) expect(isActiveState(queue.get(id)?.state ?? 'GONE')).toBe(false);
    const states = (await store.list()).filter((s) => s.studyId?.startsWith('cli-slow'));
    expect(states.every((s) => s.failed || s.phase === 'done')).toBe(true);
    await store.close();

    const rerun = await llem(['run', 'slow.yaml', '--executor', 'slurm', ...where, '--json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    const counts = summaryOf(rerun.stdout).counts;
    expect(counts.done + counts.reused).toBe(4);
    expect(counts.done).toBe(states.filter((s) => s.failed).length);
  });

  it('executor options reach the slurm executor: --executor-config (old --slurm-config), job-shape flags, --executor-option', async () => {
    writeFileSync(join(root, 'one.yaml'), echoStudy('cli-options', 0.05, '[1]', 1));
    writeFileSync(join(root, 'three-gpus.yaml'), 'gpus_per_experiment: 3\n');
    // More GPUs than the node has: sbatch --test-only refuses, so the shape reached sbatch.
    const refused = /sbatch refused the job: .*Requested node configuration is not available/;
    for (const shape of [
      ['--executor-config', 'three-gpus.yaml'],
      ['--gpus-per-experiment', '3'],
      ['--executor-option', 'gpus_per_experiment=3'],
    ]) {
      const run = await llem(['run', 'one.yaml', '--executor', 'slurm', ...shape, ...where, '--json']);
      expect(run.code, run.stderr).toBe(1);
      expect(summaryOf(run.stdout).counts).toMatchObject({ total: 1, failed: 1 });
      expect(run.stdout).toMatch(refused);
    }
    const typo = await llem([
      'run',
      'one.yaml',
      '--executor',
      'slurm',
      '--executor-option',
      'partitoin=debug',
      ...where,
    ]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/partitoin: unknown field 'partitoin' \(did you mean 'partition'\?\)/);

    // The old spelling still works, with a notice: --runner slurm --slurm-config.
    const old = await llem([
      'run',
      'one.yaml',
      '--runner',
      'slurm',
      '--slurm-config',
      'three-gpus.yaml',
      ...where,
      '--json',
    ]);
    expect(old.code, old.stderr).toBe(1);
    expect(old.stdout).toMatch(/{"type":"notice","schemaVersion":1,"message":"--runner is now --executor/);
    expect(old.stdout).toMatch(refused);
    const done = await llem(['run', 'one.yaml', '--runner', 'slurm', ...where, '--json']);
    expect(done.code, done.stderr + done.stdout).toBe(0);
    expect(summaryOf(done.stdout).counts).toMatchObject({ total: 1, done: 1 });
  });

  it('llem doctor reports the Slurm client, the controller and the GPU gres', async () => {
    const doctor = await llem(['doctor']);
    expect(doctor.stdout).toMatch(/ok\s+slurm client: slurm/);
    expect(doctor.stdout).toMatch(/ok\s+slurm controller: .*UP/);
    expect(doctor.stdout).toMatch(/ok\s+slurm GPU gres: 1 node\(s\) with gpu gres/);
  });
});
