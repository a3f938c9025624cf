import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createEngineBackend, type ServerCommand, type ServerCommandContext } from '@llem/backend-openai';
import type { BackendPlugin, DoctorCheck, ExperimentConfig } from '@llem/core';
import { DTYPE_OF_PRECISION, type VllmConfig, VllmConfigSchema } from './config.js';

/** Set by a bundler (the llem CLI's build); undefined from src/ and dist/. */
declare const __LLEM_BACKEND_VLLM_VERSION__: string | undefined;

export const PACKAGE_VERSION: string =
  typeof __LLEM_BACKEND_VLLM_VERSION__ === 'string'
    ? __LLEM_BACKEND_VLLM_VERSION__
    : (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
        .version;

/** Section keys passed as `--<key-with-dashes> <value>` (booleans: the flag alone, or --no-<flag>). */
const FLAG_KEYS = [
  'tensor_parallel_size',
  'pipeline_parallel_size',
  'max_num_seqs',
  'max_num_batched_tokens',
  'max_model_len',
  'gpu_memory_utilization',
  'quantization',
  'kv_cache_dtype',
  'enable_prefix_caching',
  'enable_chunked_prefill',
  'block_size',
  'enforce_eager',
] as const satisfies readonly (keyof VllmConfig)[];

/** `vllm serve MODEL --port {port} ...`: the argv of vLLM's OpenAI-compatible server. */
export function vllmServeArgv(config: ExperimentConfig, section: VllmConfig, port: string): string[] {
  const argv = [section.executable, 'serve', config.model, '--host', '127.0.0.1', '--port', port];
  argv.push('--dtype', DTYPE_OF_PRECISION[config.precision]);
  argv.push('--seed', String(config.random_seed));
  for (const key of FLAG_KEYS) {
    const value = section[key];
    if (value === undefined) continue;
    const flag = `--${key.replaceAll('_', '-')}`;
    if (typeof value === 'boolean') argv.push(value ? flag : `--no-${flag.slice(2)}`);
    else argv.push(flag, String(value));
  }
  if (section.speculative_config)
    argv.push('--speculative-config', JSON.stringify(section.speculative_config));
  return argv;
}

/** The vLLM server for one experiment; `/health` answers 200 once the model is loaded. */
export function vllmServerCommand({
  config,
  section,
  port,
}: ServerCommandContext<VllmConfig>): ServerCommand {
  return { argv: vllmServeArgv(config, section, port), readyPath: '/health' };
}

/** The first executable `name` on PATH, or null. */
function onPath(name: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {}
  }
  return null;
}

/** `llem doctor`: can a local vLLM server start here (the `vllm` executable on PATH)? */
export async function vllmDoctor(env: NodeJS.ProcessEnv): Promise<DoctorCheck[]> {
  const found = onPath('vllm', env);
  return [
    found
      ? {
          name: 'vllm executable',
          status: 'ok',
          detail: `found ${found} (not started: GPUs are not checked)`,
        }
      : {
          name: 'vllm executable',
          status: 'warn',
          detail: 'vllm is not on PATH: backend: vllm cannot start a server here',
          fix: 'pip install vllm in a Python environment on a GPU machine and put its bin/ on PATH, or set vllm.executable to its path',
        },
  ];
}

export function createVllmBackend(): BackendPlugin<VllmConfig> {
  const plugin = createEngineBackend<VllmConfig>({
    name: 'vllm',
    version: PACKAGE_VERSION,
    sectionSchema: VllmConfigSchema,
    serverCommand: vllmServerCommand,
    doctor: vllmDoctor,
  });
  return {
    ...plugin,
    validate(config) {
      const section = (config as { vllm?: { dtype?: string } }).vllm;
      const dtype = DTYPE_OF_PRECISION[config.precision];
      return section?.dtype !== undefined && section.dtype !== dtype
        ? [
            `vllm.dtype is ${section.dtype} but precision is ${config.precision} (--dtype ${dtype}): set precision (it sets --dtype) and remove vllm.dtype`,
          ]
        : [];
    },
  };
}
