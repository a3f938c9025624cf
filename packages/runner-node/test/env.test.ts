import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSubprocessEnv, ConfigError } from '@llem/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createSecretEnvFile, PYTHON_WORKLOAD_ENV, VLLM_WORKLOAD_ENV } from '../src/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'llem-env-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('workload env presets', () => {
  it('the vLLM preset carries the spawn/multiprocessing settings and the Python ones', () => {
    const env = buildSubprocessEnv({
      base: { PATH: '/bin', HF_TOKEN: 'secret' },
      gpus: [1, 3],
      extra: VLLM_WORKLOAD_ENV,
    });
    expect(env).toEqual({
      PATH: '/bin',
      CUDA_VISIBLE_DEVICES: '1,3',
      CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
      PYTHONUNBUFFERED: '1',
      TOKENIZERS_PARALLELISM: 'false',
      VLLM_ENABLE_V1_MULTIPROCESSING: '0',
      VLLM_WORKER_MULTIPROC_METHOD: 'spawn',
      TORCH_COMPILE_DISABLE: '1',
    });
    expect(PYTHON_WORKLOAD_ENV.PYTHONUNBUFFERED).toBe('1');
  });
});

describe('createSecretEnvFile', () => {
  it('writes only the requested secrets to a 0600 file and reports missing ones', async () => {
    const file = await createSecretEnvFile(scratch, ['HF_TOKEN', 'NOT_SET'], {
      HF_TOKEN: 'hf_abc',
      OTHER: 'x',
    });
    expect(statSync(file.path).mode & 0o777).toBe(0o600);
    expect(readFileSync(file.path, 'utf8')).toBe('HF_TOKEN=hf_abc\n');
    expect(file.names).toEqual(['HF_TOKEN']);
    expect(file.missing).toEqual(['NOT_SET']);
    await file.cleanup();
    await file.cleanup();
    expect(() => statSync(file.path)).toThrow();
  });

  it('refuses a multi-line value with a ConfigError that names the variable but not the value', async () => {
    const error = await createSecretEnvFile(scratch, ['HF_TOKEN'], { HF_TOKEN: 'line1\nhunter2' }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('HF_TOKEN');
    expect(error.message).not.toContain('hunter2');
  });
});
