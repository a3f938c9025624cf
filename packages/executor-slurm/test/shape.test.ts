import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@llem/core';
import { describe, expect, it } from 'vitest';
import {
  assertSharedFilesystemSafe,
  batchScript,
  isActiveState,
  parseJobShape,
  runStudyOnSlurm,
  SLURM_DIR_NAME,
  SlurmCommands,
  sbatchOptions,
} from '../src/index.js';
import { echoStudy, planOf, scratch, studyOptions } from './helpers.js';

describe('job shape', () => {
  it('maps every field to one sbatch option and extra lines to #SBATCH', () => {
    const shape = parseJobShape({
      partition: 'gpu',
      account: 'proj1',
      qos: 'high',
      time: '01:30:00',
      gpus_per_experiment: 2,
      gpu_type: 'a100',
      cpus_per_task: 8,
      mem: '64G',
      sbatch: ['--constraint=hbm', '--exclusive'],
    });
    expect(sbatchOptions(shape)).toEqual([
      '--partition=gpu',
      '--account=proj1',
      '--qos=high',
      '--time=01:30:00',
      '--cpus-per-task=8',
      '--mem=64G',
      '--gres=gpu:a100:2',
    ]);
    expect(sbatchOptions(parseJobShape({ gpus_per_experiment: 1, gpu_option: 'gpus' }))).toEqual([
      '--gpus=1',
    ]);
    expect(batchScript(shape)).toBe(
      '#!/bin/sh\n# Written by llem (@llem/executor-slurm). The command is in "$@".\n#SBATCH --constraint=hbm\n#SBATCH --exclusive\nexec "$@"\n',
    );
  });

  it('rejects a bad field with one message naming it', () => {
    expect(() => parseJobShape({ mem: 'lots' }, 'slurm.yaml')).toThrow(
      /slurm\.yaml: mem: a Slurm memory size/,
    );
    expect(() => parseJobShape({ partitoin: 'gpu' }, 'slurm.yaml')).toThrow(/partition/);
    expect(() => parseJobShape({ sbatch: ['--x\n#SBATCH --y'] })).toThrow(
      /sbatch\[0\]: one sbatch option per line/,
    );
  });
});

describe('shared filesystem rules', () => {
  it('accepts the fs store and refuses sqlite with a fix', () => {
    expect(() => assertSharedFilesystemSafe('fs')).not.toThrow();
    const error = (() => {
      try {
        assertSharedFilesystemSafe('sqlite');
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toMatch(/SQLite locking is not safe on NFS/);
    expect(error?.fix).toMatch(/--store fs/);
  });
});

describe('job shapes on the real cluster', () => {
  const dir = scratch('shape');

  it('gives each --gres=gpu:1 job its own CUDA_VISIBLE_DEVICES', async () => {
    const plan = await planOf(
      echoStudy('echo-gpu', {
        sweep: { 'echo.output_tokens_per_request': [1, 2] },
        echo: { seconds_per_request: 1 },
      }),
    );
    const options = await studyOptions(dir, { gpus_per_experiment: 1 });
    const summary = await runStudyOnSlurm(plan, options);
    expect(summary.counts).toMatchObject({ total: 4, done: 4 });
    const devices = (await options.store.list({ studyId: plan.studyId! })).map((state) => {
      const out = readFileSync(
        join(summary.studyDir, SLURM_DIR_NAME, `${state.scheduler!.jobId}.out`),
        'utf8',
      );
      return /CUDA_VISIBLE_DEVICES=(\S+)/.exec(out)?.[1];
    });
    for (const d of devices) expect(['0', '1']).toContain(d);
    await options.store.close();
  });

  it('runs a job array with a concurrency limit, one task per experiment-cycle', async () => {
    const plan = await planOf(
      echoStudy('echo-array', { sweep: { 'echo.output_tokens_per_request': [1, 2] } }),
    );
    const options = await studyOptions(dir, { array: true, array_limit: 1 });
    const summary = await runStudyOnSlurm(plan, options);
    expect(summary.counts).toMatchObject({ total: 4, done: 4 });
    const ids = (await options.store.list({ studyId: plan.studyId! })).map((s) => s.scheduler!.jobId).sort();
    const base = ids[0]!.split('_')[0];
    expect(ids).toEqual([0, 1, 2, 3].map((i) => `${base}_${i}`));
    await options.store.close();
  });

  it('records a job Slurm refuses as failed with sbatch message, and submits nothing', async () => {
    const plan = await planOf(echoStudy('echo-refused', { sweep: undefined, cycles: 1 }));
    const options = await studyOptions(dir, { gpus_per_experiment: 3 });
    const summary = await runStudyOnSlurm(plan, options);
    expect(summary.counts).toMatchObject({ total: 1, failed: 1 });
    expect(summary.runs[0]!.error).toMatch(
      /sbatch refused the job: .*Requested node configuration is not available/,
    );
    const [state] = await options.store.list({ studyId: plan.studyId! });
    expect(state).toMatchObject({ failed: true, scheduler: null });
    await options.store.close();
  });

  it('cancels and fails a job that can never start (its dependency failed) instead of waiting forever', async () => {
    const script = join(dir, 'false.sh');
    writeFileSync(script, '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    const failing = await new SlurmCommands().sbatch([`--output=${join(dir, 'false.out')}`, script]);
    for (let i = 0; i < 100; i++) {
      const job = (await new SlurmCommands().squeue([failing])).get(failing);
      if (job && !isActiveState(job.state)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const plan = await planOf(echoStudy('echo-never', { sweep: undefined, cycles: 1 }));
    const options = await studyOptions(dir, { sbatch: [`--dependency=afterok:${failing}`] });
    const summary = await runStudyOnSlurm(plan, options);
    expect(summary.counts).toMatchObject({ total: 1, failed: 1 });
    expect(summary.runs[0]!.error).toMatch(
      /could never start \(DependencyNeverSatisfied\); llem cancelled it/,
    );
    const [state] = await options.store.list({ studyId: plan.studyId! });
    const job = (await new SlurmCommands().squeue([state!.scheduler!.jobId])).get(state!.scheduler!.jobId);
    expect(job?.state).toBe('CANCELLED');
    await options.store.close();
  });
});
