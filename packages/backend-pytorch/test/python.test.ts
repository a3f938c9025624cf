import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendError, resolveExperimentConfig } from '@llem/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPytorchBackend,
  ensureHarnessPython,
  provisionedPythonPath,
  pytorchSection,
} from '../src/index.js';
import { catalogOf, harnessPython, tempDir, tinyConfig } from './helpers.js';

describe('ensureHarnessPython', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('python');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('prefers LLEM_PYTHON and does not provision', async () => {
    expect(
      await ensureHarnessPython({
        env: { LLEM_PYTHON: '/opt/py/bin/python' },
        provisionScript: '/nonexistent.sh',
      }),
    ).toBe('/opt/py/bin/python');
  });

  it('returns the provisioned venv python, where doctor expects it', async () => {
    const python = await ensureHarnessPython({ env: process.env });
    expect(python).toBe(harnessPython());
    expect(provisionedPythonPath(process.env)).toBe(python);
  });

  it('is what a local launch uses when no python is configured', async () => {
    const { LLEM_PYTHON: _ignored, ...env } = process.env;
    const plugin = createPytorchBackend({ env });
    const { config, configHash } = resolveExperimentConfig(tinyConfig(), { backends: catalogOf(plugin) });
    const plan = await plugin.prepare({
      config,
      section: pytorchSection(config),
      configHash,
      experimentId: 'p',
      workDir: dir,
      launch: 'local',
    });
    expect(plan.spec.argv[0]).toBe(harnessPython());
  });

  it('streams progress and fails with a clear fix when python3 is missing', async () => {
    const lines: string[] = [];
    const error = await ensureHarnessPython({
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        LLEM_VENV_DIR: join(dir, 'venvs'),
        LLEM_BOOTSTRAP_PYTHON: join(dir, 'no-python3'),
      },
      onProgress: (line) => lines.push(line),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).message).toContain('no python3 found');
    expect((error as BackendError).fix).toContain('apt install python3 python3-venv');
    expect(lines[0]).toContain('creating the harness venv');
  });
});
