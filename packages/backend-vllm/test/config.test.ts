import { isConfigError, resolveExperimentConfig } from '@llem/core';
import { expandStudy } from '@llem/core/orchestration';
import { describe, expect, it } from 'vitest';
import { catalogOf } from './helpers.js';
import { createVllmBackend, servingSection, vllmServeArgv } from './under-test.js';

const plugin = createVllmBackend();
const backends = catalogOf(plugin);
const resolve = (vllm: unknown, extra: Record<string, unknown> = {}) =>
  resolveExperimentConfig({ model: 'org/model', backend: 'vllm', vllm, ...extra }, { backends });

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(isConfigError(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a config error');
}

describe('vllm section', () => {
  it('rejects a typo with did-you-mean', () => {
    expect(errorOf(() => resolve({ max_num_seq: 8 }))).toMatch(
      /vllm\.max_num_seq: unknown field 'max_num_seq' \(did you mean 'max_num_seqs'\?\)/,
    );
    expect(errorOf(() => resolve({ tensor_paralel_size: 2 }))).toMatch(/did you mean 'tensor_parallel_size'/);
  });

  it('applies the serving backend cross-field checks', () => {
    expect(errorOf(() => resolve({ concurrency: 2, request_rate: 4 }))).toMatch(
      /set concurrency \(closed loop\) or request_rate \(open loop\), not both/,
    );
  });

  it('maps precision to --dtype and rejects a dtype that disagrees', () => {
    for (const [precision, dtype] of [
      ['fp16', 'float16'],
      ['bf16', 'bfloat16'],
      ['fp32', 'float32'],
    ] as const) {
      const { config } = resolve({}, { precision });
      const argv = vllmServeArgv(config, config.vllm as never, '{port}');
      expect(argv.slice(argv.indexOf('--dtype'), argv.indexOf('--dtype') + 2)).toEqual(['--dtype', dtype]);
    }
    expect(errorOf(() => resolve({ dtype: 'float16' }, { precision: 'bf16' }))).toMatch(
      /vllm\.dtype is float16 but precision is bf16/,
    );
  });

  it('turns the section into vllm serve flags, engine_args last', () => {
    const { config } = resolve({
      tensor_parallel_size: 2,
      max_num_seqs: 64,
      gpu_memory_utilization: 0.85,
      enable_prefix_caching: false,
      enforce_eager: true,
      speculative_config: { method: 'ngram', num_speculative_tokens: 4 },
      engine_args: ['--swap-space', '8'],
      concurrency: 4,
    });
    const serving = servingSection(config);
    expect(serving.server?.argv).toEqual([
      'vllm',
      'serve',
      'org/model',
      '--host',
      '127.0.0.1',
      '--port',
      '{port}',
      '--dtype',
      'bfloat16',
      '--seed',
      String(config.random_seed),
      '--tensor-parallel-size',
      '2',
      '--max-num-seqs',
      '64',
      '--gpu-memory-utilization',
      '0.85',
      '--no-enable-prefix-caching',
      '--enforce-eager',
      '--speculative-config',
      '{"method":"ngram","num_speculative_tokens":4}',
      '--swap-space',
      '8',
    ]);
    expect(serving).toMatchObject({ concurrency: 4, server: { ready_path: '/health' } });
  });

  it('a sweep over vllm.max_num_seqs expands to one experiment per value, each its own hash', () => {
    const plan = expandStudy(
      {
        name: 'seqs',
        model: 'org/model',
        backend: 'vllm',
        vllm: { concurrency: 8 },
        sweep: { 'vllm.max_num_seqs': [16, 32, 64] },
      },
      { backends },
    );
    expect(plan.experiments.map((e) => (e.config.vllm as { max_num_seqs: number }).max_num_seqs)).toEqual([
      16, 32, 64,
    ]);
    expect(new Set(plan.experiments.map((e) => e.configHash)).size).toBe(3);
    // The same value written in a single experiment hashes the same as its sweep point.
    const single = resolve({ concurrency: 8, max_num_seqs: 32 });
    expect(plan.experiments[1]!.configHash).toBe(single.configHash);
  });
});

describe('vllm doctor', () => {
  it('says whether vllm is on PATH, with the fix when it is not', async () => {
    const { vllmDoctor } = await import('../src/index.js');
    const [missing] = await vllmDoctor({ PATH: '/nonexistent' });
    expect(missing).toMatchObject({ status: 'warn', fix: expect.stringMatching(/pip install vllm/) });
    const { fakeVllm } = await import('./helpers.js');
    const fake = fakeVllm({}, 'doctor');
    const [found] = await vllmDoctor({ PATH: fake.dir });
    expect(found).toMatchObject({ status: 'ok', detail: expect.stringContaining(fake.path) });
  });
});
