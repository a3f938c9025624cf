import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type BackendContext, resolveExperimentConfig } from '@llem/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPytorchBackend, HARNESS_DIR, type PytorchConfig, pytorchSection } from '../src/index.js';
import { catalogOf, harnessPython, type LaunchResult, launch, tempDir, tinyConfig } from './helpers.js';

/** The real harness in the provisioned venv, launched by the plugin through the real process-group runner. */
describe('local launch of builtin:tiny-gpt2', () => {
  let python: string;
  const runs: LaunchResult[] = [];
  beforeAll(() => {
    python = harnessPython();
  });
  afterAll(async () => {
    await Promise.all(runs.map((run) => run.cleanup()));
  });

  it('plans python -m llem_harness with an allow-listed env and the GPU selection', async () => {
    const plugin = createPytorchBackend({
      python,
      env: { PATH: '/usr/bin:/bin', HOME: '/home/x', SECRET_THING: 's', HF_HOME: '/hf' },
    });
    const { config, configHash } = resolveExperimentConfig(tinyConfig({ gpus: [2, 3] }), {
      backends: catalogOf(plugin),
    });
    const workDir = await tempDir('plan');
    const ctx: BackendContext<PytorchConfig> = {
      config,
      section: pytorchSection(config),
      configHash,
      experimentId: 'plan-1',
      workDir,
      launch: 'local',
    };
    const plan = await plugin.prepare(ctx);
    expect(plan.spec.argv).toEqual([
      python,
      '-m',
      'llem_harness',
      '--config',
      join(workDir, 'harness-config.json'),
      '--out',
      workDir,
    ]);
    expect(plan.spec.env).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/home/x',
      HF_HOME: '/hf',
      CUDA_VISIBLE_DEVICES: '2,3',
      PYTHONUNBUFFERED: '1',
      TOKENIZERS_PARALLELISM: 'false',
      CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
      PYTHONPATH: HARNESS_DIR,
    });
    expect(plan.spec.stopCommands).toBeUndefined();
    expect(plan.files).toHaveLength(1);
    expect(JSON.parse(plan.files![0]!.content)).toEqual({
      experiment_id: 'plan-1',
      config_hash: configHash,
      config,
    });
    expect(await readdir(workDir)).toEqual([]); // the orchestrator writes plan.files, not prepare
  });

  it('measures 8 prompts in batches of 2 with exact token counts, latency stats and a window', async () => {
    const plugin = createPytorchBackend({ python });
    const run = await launch(plugin, tinyConfig(), { launch: 'local' });
    runs.push(run);
    expect(run.outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    const result = await run.collect();
    expect(result.backend).toBe('pytorch');
    expect(result.requests).toBe(8);
    expect(result.batches).toBe(4);
    const perRequest = result.tokens.per_request_output!;
    expect(perRequest).toHaveLength(8);
    expect(result.tokens.output).toBe(perRequest.reduce((a, b) => a + b, 0));
    expect(result.tokens.output).toBeLessThanOrEqual(8 * 16);
    for (const count of perRequest) expect(count).toBeGreaterThanOrEqual(1);
    expect(result.tokens.input).toBe(8 * 16); // synthetic prompts of input_len tokens, no padding counted
    expect(result.tokens.total).toBe(result.tokens.input + result.tokens.output);
    expect(result.latency?.ttft_ms.count).toBe(8);
    expect(result.latency?.ttft_ms.p50).toBeGreaterThan(0);
    expect(result.latency?.itl_ms.count).toBeGreaterThan(0);
    const start = run.events.find((event) => event.event === 'window-start')!;
    const end = run.events.find((event) => event.event === 'window-end')!;
    expect(result.window.start_mono_ns).toBe(start.t_mono_ns);
    expect(result.window.end_mono_ns).toBe(end.t_mono_ns);
    expect(result.window.duration_s).toBeGreaterThan(0);
    expect(run.events.map((event) => event.event).filter((name) => name !== 'progress')).toEqual([
      'loaded',
      'warmup-done',
      'window-start',
      'window-end',
      'result',
    ]);
  });

  it('hands HF_TOKEN to the harness through a 0600 file, never argv or the env map', async () => {
    const token = 'hf_local_secret_value_42';
    const secretsDir = await tempDir('local-secrets');
    const plugin = createPytorchBackend({ python, secretsDir, env: { ...process.env, HF_TOKEN: token } });
    const { config, configHash } = resolveExperimentConfig(tinyConfig(), { backends: catalogOf(plugin) });
    const workDir = await tempDir('secret-plan');
    const plan = await plugin.prepare({
      config,
      section: pytorchSection(config),
      configHash,
      experimentId: 's',
      workDir,
      launch: 'local',
    });
    expect(JSON.stringify(plan.spec)).not.toContain(token);
    const envFile = plan.cleanupPaths![0]!;
    expect((await stat(envFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(envFile, 'utf8')).toBe(`HF_TOKEN=${token}\n`);
    // The bootstrap really loads the file: run it with a probe module in place of the harness.
    const { spawnSync } = await import('node:child_process');
    const code = plan.spec.argv[2]!.replace('run_module("llem_harness"', 'run_module("llem_probe"');
    const { writeFile, mkdir } = await import('node:fs/promises');
    await mkdir(join(secretsDir, 'llem_probe'));
    await writeFile(
      join(secretsDir, 'llem_probe', '__main__.py'),
      'import os, sys\nprint(os.environ["HF_TOKEN"] == sys.argv[-1], sys.argv[1:3])\n',
    );
    const probe = spawnSync(python, ['-c', code, envFile, '--config', 'c.json', token], {
      env: { ...plan.spec.env, PYTHONPATH: secretsDir },
      encoding: 'utf8',
    });
    expect(probe.stdout.trim()).toBe("True ['--config', 'c.json']");
  });
});
