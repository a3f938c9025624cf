import { backendSection, type ExperimentConfig } from '@llem/core';
import { z } from 'zod';

/**
 * The `pytorch:` section of an experiment (original spec §3.2), strict: an unknown key is an
 * error, not a silent kwarg. Free keys for `from_pretrained` go in `from_pretrained_kwargs:`,
 * the one documented escape hatch. `null` means "the runtime's default", exactly like an absent
 * key, so `batch_size: null` and no `batch_size` hash the same.
 */

/** Keys this section manages itself; setting them through from_pretrained_kwargs would fight it. */
const MANAGED_FROM_PRETRAINED_KEYS: Readonly<Record<string, string>> = {
  torch_dtype: 'precision',
  dtype: 'precision',
  device_map: 'pytorch.device_map',
  max_memory: 'pytorch.max_memory',
  revision: 'pytorch.revision',
  trust_remote_code: 'pytorch.trust_remote_code',
  attn_implementation: 'pytorch.attn_implementation',
  quantization_config: 'pytorch.load_in_4bit / load_in_8bit / bnb_4bit_*',
  load_in_4bit: 'pytorch.load_in_4bit',
  load_in_8bit: 'pytorch.load_in_8bit',
};
/** Credentials never go in a config (it is hashed, stored and shown): use the HF_TOKEN env var. */
const SECRET_FROM_PRETRAINED_KEYS = ['token', 'use_auth_token'];

const FromPretrainedKwargsSchema = z
  .record(z.string(), z.unknown())
  .superRefine((kwargs, ctx) => {
    for (const key of Object.keys(kwargs)) {
      const owner = MANAGED_FROM_PRETRAINED_KEYS[key];
      if (owner)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `set this with ${owner}, not from_pretrained_kwargs`,
        });
      if (SECRET_FROM_PRETRAINED_KEYS.includes(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message:
            'credentials do not belong in a config; export HF_TOKEN instead (passed to the workload through a 0600 env file)',
        });
      }
    }
  })
  .describe('Extra keyword arguments for AutoModelForCausalLM.from_pretrained (the only free-form keys)');

const PytorchFieldsSchema = z.strictObject({
  // Batching and attention.
  batch_size: z.number().int().min(1).default(1).describe('Prompts per generate() call'),
  attn_implementation: z
    .enum(['sdpa', 'flash_attention_2', 'flash_attention_3', 'eager'])
    .optional()
    .describe('Absent: transformers picks (sdpa where the model supports it, else eager)'),
  // Compilation.
  torch_compile: z
    .boolean()
    .default(false)
    .describe('Compile the forward pass with torch.compile (falls back to eager if it fails)'),
  torch_compile_mode: z
    .enum(['default', 'reduce-overhead', 'max-autotune', 'max-autotune-no-cudagraphs'])
    .optional()
    .describe('Needs torch_compile: true (runtime default "default")'),
  torch_compile_backend: z
    .string()
    .min(1)
    .optional()
    .describe('Needs torch_compile: true (runtime default "inductor")'),
  // bitsandbytes quantisation.
  load_in_4bit: z
    .boolean()
    .default(false)
    .describe('4-bit bitsandbytes quantisation (needs bitsandbytes in the harness python)'),
  load_in_8bit: z
    .boolean()
    .default(false)
    .describe('8-bit bitsandbytes quantisation (needs bitsandbytes in the harness python)'),
  bnb_4bit_compute_dtype: z
    .enum(['float16', 'bfloat16', 'float32'])
    .optional()
    .describe('Needs load_in_4bit: dtype of the 4-bit matmuls'),
  bnb_4bit_quant_type: z.enum(['nf4', 'fp4']).optional().describe('Needs load_in_4bit: nf4 or fp4'),
  bnb_4bit_use_double_quant: z
    .boolean()
    .optional()
    .describe('Needs load_in_4bit: quantise the quantisation constants too'),
  // KV cache.
  use_cache: z.boolean().default(true).describe('Use the KV cache while generating'),
  cache_implementation: z
    .enum(['static', 'offloaded_static', 'sliding_window'])
    .optional()
    .describe('Needs use_cache: a transformers cache implementation'),
  // Beam search.
  num_beams: z.number().int().min(1).default(1).describe('Beam search width (1: no beam search)'),
  early_stopping: z.boolean().optional().describe('Beam search: stop when num_beams candidates are finished'),
  length_penalty: z.number().optional().describe('Beam search: exponent of the length in the score'),
  // Repetition and speculation.
  no_repeat_ngram_size: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Never repeat an n-gram of this size (0: off)'),
  prompt_lookup_num_tokens: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('Prompt-lookup speculative decoding: tokens proposed per step'),
  // Loading.
  device_map: z
    .union([z.string().min(1), z.record(z.string(), z.union([z.string(), z.number().int()]))])
    .optional()
    .describe('Absent: the whole model on the first selected GPU (or CPU); "auto" needs accelerate'),
  max_memory: z
    .record(z.string(), z.union([z.string(), z.number()]))
    .optional()
    .describe('Per-device memory caps for device_map, e.g. {0: "20GiB", cpu: "64GiB"}'),
  revision: z.string().min(1).optional().describe('Model revision (branch, tag or commit)'),
  trust_remote_code: z
    .boolean()
    .default(false)
    .describe('Run Python code shipped with the model. Off unless you trust the repository.'),
  from_pretrained_kwargs: FromPretrainedKwargsSchema.optional().describe(
    'Extra keyword arguments for from_pretrained (the only free-form keys)',
  ),
});

const BNB_4BIT_KEYS = ['bnb_4bit_compute_dtype', 'bnb_4bit_quant_type', 'bnb_4bit_use_double_quant'] as const;

/** Drops `key: null` so null means "runtime default", like an absent key. */
function dropNulls(value: unknown): unknown {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}

export const PytorchConfigSchema = z.preprocess(
  dropNulls,
  PytorchFieldsSchema.superRefine((section, ctx) => {
    if (section.load_in_4bit && section.load_in_8bit) {
      ctx.addIssue({
        code: 'custom',
        path: ['load_in_8bit'],
        message: 'load_in_4bit and load_in_8bit cannot both be true',
      });
    }
    for (const key of ['torch_compile_mode', 'torch_compile_backend'] as const) {
      if (section[key] !== undefined && !section.torch_compile) {
        ctx.addIssue({ code: 'custom', path: [key], message: `${key} requires torch_compile: true` });
      }
    }
    for (const key of BNB_4BIT_KEYS) {
      if (section[key] !== undefined && !section.load_in_4bit) {
        ctx.addIssue({ code: 'custom', path: [key], message: `${key} requires load_in_4bit: true` });
      }
    }
    if (section.cache_implementation !== undefined && !section.use_cache) {
      ctx.addIssue({
        code: 'custom',
        path: ['cache_implementation'],
        message: 'cache_implementation requires use_cache: true',
      });
    }
  }),
);

export type PytorchConfig = z.infer<typeof PytorchConfigSchema>;

/** The validated pytorch section of a resolved config (defaults applied). */
export function pytorchSection(config: ExperimentConfig): PytorchConfig {
  return PytorchConfigSchema.parse(backendSection(config));
}

/** Checks that involve fields outside the section; each string is one problem. */
export function validatePytorchExperiment(config: ExperimentConfig): string[] {
  const problems: string[] = [];
  const attn = backendSection(config).attn_implementation;
  // The one cross-field rule: nothing to check (or parse) unless it could apply. A study checks every point.
  if (config.precision !== 'fp32' || typeof attn !== 'string' || !attn.startsWith('flash_attention'))
    return problems;
  const parsed = PytorchConfigSchema.safeParse(backendSection(config));
  if (!parsed.success) return problems; // the schema already reported these
  const section = parsed.data;
  if (section.attn_implementation?.startsWith('flash_attention') && config.precision === 'fp32') {
    problems.push(
      `attn_implementation ${section.attn_implementation} needs precision fp16 or bf16 (got fp32)`,
    );
  }
  return problems;
}
