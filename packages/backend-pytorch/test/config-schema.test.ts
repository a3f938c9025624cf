import { ConfigError, resolveExperimentConfig } from '@llem/core';
import { describe, expect, it } from 'vitest';
import { createPytorchBackend, PytorchConfigSchema, pytorchSection } from '../src/index.js';
import { catalogOf } from './helpers.js';

const plugin = createPytorchBackend({ python: '/unused/python' });
const resolve = (pytorch: unknown, extra: Record<string, unknown> = {}) =>
  resolveExperimentConfig({ model: 'gpt2', pytorch, ...extra }, { backends: catalogOf(plugin) });

function problems(section: unknown): string[] {
  const result = PytorchConfigSchema.safeParse(section);
  return result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('pytorch section schema', () => {
  it('applies the documented runtime defaults, with trust_remote_code off', () => {
    expect(PytorchConfigSchema.parse({})).toEqual({
      batch_size: 1,
      torch_compile: false,
      load_in_4bit: false,
      load_in_8bit: false,
      use_cache: true,
      num_beams: 1,
      trust_remote_code: false,
    });
  });

  it('treats null like an absent key, so both spellings hash the same', () => {
    const absent = resolve({});
    const nulls = resolve({ batch_size: null, attn_implementation: null, revision: null });
    const explicit = resolve({ batch_size: 1, trust_remote_code: false });
    expect(nulls.configHash).toBe(absent.configHash);
    expect(explicit.configHash).toBe(absent.configHash);
    expect(resolve({ batch_size: 4 }).configHash).not.toBe(absent.configHash);
  });

  it('rejects unknown keys instead of forwarding them', () => {
    expect(problems({ batch_sise: 2 })).toEqual([expect.stringContaining('batch_sise')]);
    expect(() => resolve({ low_cpu_mem_usage: true })).toThrow(ConfigError);
  });

  it('accepts free keys only under from_pretrained_kwargs', () => {
    expect(
      PytorchConfigSchema.parse({ from_pretrained_kwargs: { low_cpu_mem_usage: true } })
        .from_pretrained_kwargs,
    ).toEqual({
      low_cpu_mem_usage: true,
    });
  });

  it('refuses from_pretrained_kwargs that the section or precision manage, and credentials', () => {
    expect(problems({ from_pretrained_kwargs: { torch_dtype: 'float16' } })).toEqual([
      'from_pretrained_kwargs.torch_dtype: set this with precision, not from_pretrained_kwargs',
    ]);
    expect(problems({ from_pretrained_kwargs: { trust_remote_code: true } })[0]).toContain(
      'pytorch.trust_remote_code',
    );
    expect(problems({ from_pretrained_kwargs: { token: 'hf_x' } })[0]).toContain('export HF_TOKEN');
  });

  it('enforces the cross-field rules of the original (spec 3.2)', () => {
    expect(problems({ load_in_4bit: true, load_in_8bit: true })).toEqual([
      'load_in_8bit: load_in_4bit and load_in_8bit cannot both be true',
    ]);
    expect(problems({ torch_compile_mode: 'max-autotune' })).toEqual([
      'torch_compile_mode: torch_compile_mode requires torch_compile: true',
    ]);
    expect(problems({ torch_compile_backend: 'inductor' })).toEqual([
      'torch_compile_backend: torch_compile_backend requires torch_compile: true',
    ]);
    expect(problems({ torch_compile: true, torch_compile_mode: 'max-autotune' })).toEqual([]);
    expect(problems({ bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: true })).toEqual([
      'bnb_4bit_quant_type: bnb_4bit_quant_type requires load_in_4bit: true',
      'bnb_4bit_use_double_quant: bnb_4bit_use_double_quant requires load_in_4bit: true',
    ]);
    expect(
      problems({ load_in_4bit: true, bnb_4bit_quant_type: 'nf4', bnb_4bit_compute_dtype: 'bfloat16' }),
    ).toEqual([]);
    expect(problems({ use_cache: false, cache_implementation: 'static' })).toEqual([
      'cache_implementation: cache_implementation requires use_cache: true',
    ]);
  });

  it('checks ranges and enums', () => {
    expect(problems({ batch_size: 0 })).toHaveLength(1);
    expect(problems({ num_beams: 1.5 })).toHaveLength(1);
    expect(problems({ no_repeat_ngram_size: -1 })).toHaveLength(1);
    expect(problems({ attn_implementation: 'flash' })).toHaveLength(1);
    expect(
      problems({
        device_map: { 'model.layers.0': 0, lm_head: 'cpu' },
        max_memory: { '0': '20GiB', cpu: '64GiB' },
      }),
    ).toEqual([]);
  });

  it('reports section problems under the pytorch path through core resolution', () => {
    try {
      resolve({ load_in_4bit: true, load_in_8bit: true });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('pytorch.load_in_8bit');
    }
  });

  it('rejects flash attention with fp32 (a check across sections)', () => {
    expect(() => resolve({ attn_implementation: 'flash_attention_2' }, { precision: 'fp32' })).toThrow(
      /needs precision fp16 or bf16/,
    );
    expect(() => resolve({ attn_implementation: 'flash_attention_2' }, { precision: 'bf16' })).not.toThrow();
  });
});

describe('estimateSeconds', () => {
  it('grows with the work and the model size', () => {
    const estimate = (raw: Record<string, unknown>) =>
      plugin.estimateSeconds!(resolve({}, raw).config, pytorchSection(resolve({}, raw).config));
    const small = estimate({ model: 'builtin:tiny-gpt2', n: 10 });
    expect(small).toBeGreaterThan(0);
    expect(estimate({ model: 'builtin:tiny-gpt2', n: 1000 })).toBeGreaterThan(small);
    expect(estimate({ model: 'org/big-model', n: 10 })).toBeGreaterThan(small);
    expect(estimate({ n: 100, pytorch: { batch_size: 8 } })).toBeLessThan(estimate({ n: 100 }));
  });
});
