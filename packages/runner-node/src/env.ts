import { randomBytes } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, messageOf, writeSecretEnvFile } from '@llem/core';

/*
 * The workload environment itself is built by core's `buildSubprocessEnv` (allow-list + GPU
 * selection + `extra`). These are the variable sets backends pass as `extra`.
 */

/** Every Python workload: unbuffered output (live logs and events), no tokenizer fork warnings. */
export const PYTHON_WORKLOAD_ENV: Readonly<Record<string, string>> = {
  PYTHONUNBUFFERED: '1',
  TOKENIZERS_PARALLELISM: 'false',
};

/** CUDA numbers devices like NVML and nvidia-smi do, so CUDA_VISIBLE_DEVICES=1 is the GPU we measure. */
export const CUDA_WORKLOAD_ENV: Readonly<Record<string, string>> = {
  CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
};

/**
 * vLLM (original spec 9.8): workers start with `spawn` (fork after CUDA init breaks), V1
 * multiprocessing off so the engine stays in the measured process, no torch.compile.
 */
export const VLLM_WORKLOAD_ENV: Readonly<Record<string, string>> = {
  ...PYTHON_WORKLOAD_ENV,
  ...CUDA_WORKLOAD_ENV,
  VLLM_ENABLE_V1_MULTIPROCESSING: '0',
  VLLM_WORKER_MULTIPROC_METHOD: 'spawn',
  TORCH_COMPILE_DISABLE: '1',
};

export interface SecretEnvFile {
  /** The 0600 file, `NAME=value` per line (the `docker run --env-file` format). */
  path: string;
  /** Names written. */
  names: string[];
  /** Requested names that are not set (or empty) in the source environment. */
  missing: string[];
  /** Deletes the file; safe to call twice. */
  cleanup(): Promise<void>;
}

/**
 * Collects the secrets a backend asked for by name from `sourceEnv` and writes them to a fresh
 * 0600 file in `dir` (core's writeSecretEnvFile), for `docker run --env-file` or a harness that
 * reads the file. Values never go into argv, logs or the workload's inherited environment.
 */
export async function createSecretEnvFile(
  dir: string,
  names: readonly string[],
  sourceEnv: Readonly<Record<string, string | undefined>> = process.env,
): Promise<SecretEnvFile> {
  const entries: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of names) {
    const value = sourceEnv[name];
    if (value === undefined || value === '') missing.push(name);
    else entries[name] = value;
  }
  const path = join(dir, `.llem-secrets-${randomBytes(8).toString('hex')}.env`);
  try {
    await writeSecretEnvFile(path, entries);
  } catch (error) {
    // Core's message names the variable, never its value.
    throw new ConfigError(`Cannot write the secret env file: ${messageOf(error)}.`, {
      cause: error,
      fix: 'Secrets must be single-line values under valid variable names.',
    });
  }
  return {
    path,
    names: Object.keys(entries),
    missing,
    cleanup: () =>
      unlink(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      }),
  };
}
