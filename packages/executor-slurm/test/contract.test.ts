import { describeRunnerContract } from '@llem/core/testing';
import { describe, expect, it } from 'vitest';
import { parseJobShape, SlurmRunner } from '../src/index.js';
import './helpers.js';

// Each workload is one real Slurm batch job.
describeRunnerContract('SlurmRunner', () => new SlurmRunner({ pollMs: 100 }));

describe('SlurmRunner job shape', () => {
  it('runs a --gres=gpu:1 workload with CUDA_VISIBLE_DEVICES set by Slurm', async () => {
    const lines: string[] = [];
    const outcome = await new SlurmRunner({
      pollMs: 100,
      shape: parseJobShape({ gpus_per_experiment: 1 }),
    }).run(
      {
        argv: ['sh', '-c', 'echo "gpu=$CUDA_VISIBLE_DEVICES"'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      },
      { onLine: (l) => lines.push(l) },
    );
    expect(outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    expect(lines).toEqual([expect.stringMatching(/^gpu=[01]$/)]);
  });
});
