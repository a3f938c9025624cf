import { engineSectionSchema } from '@llem/backend-openai';
import type { Precision } from '@llem/core';
import { z } from 'zod';

/** The experiment's `precision` as vLLM's `--dtype`. */
export const DTYPE_OF_PRECISION: Readonly<Record<Precision, string>> = {
  fp32: 'float32',
  fp16: 'float16',
  bf16: 'bfloat16',
};

/** The `vllm:` section: the engine arguments people sweep, and `engine_args` for the rest. */
export const VllmConfigSchema = engineSectionSchema({
  tensor_parallel_size: z.number().int().min(1).optional(),
  pipeline_parallel_size: z.number().int().min(1).optional(),
  max_num_seqs: z.number().int().min(1).optional(),
  max_num_batched_tokens: z.number().int().min(1).optional(),
  max_model_len: z.number().int().min(1).optional(),
  gpu_memory_utilization: z.number().gt(0).max(1).optional(),
  /** Must agree with the experiment's `precision` (which is what sets `--dtype`). */
  dtype: z.enum(['float32', 'float16', 'bfloat16']).optional(),
  quantization: z.string().min(1).optional(),
  kv_cache_dtype: z.string().min(1).optional(),
  enable_prefix_caching: z.boolean().optional(),
  enable_chunked_prefill: z.boolean().optional(),
  block_size: z.number().int().min(1).optional(),
  enforce_eager: z.boolean().optional(),
  /** vLLM's speculative decoding settings, passed as JSON to `--speculative-config`. */
  speculative_config: z.record(z.string(), z.unknown()).optional(),
  /** The `vllm` executable (a name on PATH or a path). */
  executable: z.string().min(1).default('vllm'),
});
export type VllmConfig = z.infer<typeof VllmConfigSchema>;
