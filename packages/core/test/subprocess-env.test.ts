import { describe, expect, it } from 'vitest';
import { buildSubprocessEnv } from '../src/index.js';

describe('buildSubprocessEnv and the GPUs a scheduler gave this process', () => {
  it('keeps the host CUDA_VISIBLE_DEVICES (a Slurm allocation) when no gpus are named', () => {
    const env = buildSubprocessEnv({ base: { PATH: '/bin', CUDA_VISIBLE_DEVICES: '1' }, gpus: null });
    expect(env.CUDA_VISIBLE_DEVICES).toBe('1');
  });

  it('replaces it when the experiment names its gpus', () => {
    const env = buildSubprocessEnv({ base: { PATH: '/bin', CUDA_VISIBLE_DEVICES: '1' }, gpus: [0, 2] });
    expect(env.CUDA_VISIBLE_DEVICES).toBe('0,2');
  });
});
