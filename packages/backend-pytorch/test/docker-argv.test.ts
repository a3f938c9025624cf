import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type BackendContext, isConfigError, resolveExperimentConfig } from '@llem/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildDockerRunArgv,
  createPytorchBackend,
  DEFAULT_IMAGE,
  dockerLaunchSettings,
  type PytorchBackendOptions,
  type PytorchConfig,
  pytorchSection,
} from '../src/index.js';
import { catalogOf, FAKE_DOCKER, tempDir, tinyConfig } from './helpers.js';

async function dockerPlan(
  raw: Record<string, unknown>,
  options: PytorchBackendOptions,
  workDir: string,
  experimentId = 'exp-1',
) {
  const plugin = createPytorchBackend({ docker: FAKE_DOCKER, env: { PATH: process.env.PATH }, ...options });
  const { config, configHash } = resolveExperimentConfig(raw, { backends: catalogOf(plugin) });
  const ctx: BackendContext<PytorchConfig> = {
    config,
    section: pytorchSection(config),
    configHash,
    experimentId,
    workDir,
    launch: 'docker',
  };
  return { plan: await plugin.prepare(ctx), configHash };
}

describe('docker run argv', () => {
  let workDir: string;
  beforeAll(async () => {
    workDir = await tempDir('argv');
  });
  afterAll(() => rm(workDir, { recursive: true, force: true }));

  it('gives the container the GPUs the scheduler allocated (CUDA_VISIBLE_DEVICES) when the config names none', async () => {
    const { plan } = await dockerPlan(
      tinyConfig(),
      { image: 'llem/backend-pytorch:test', env: { PATH: process.env.PATH, CUDA_VISIBLE_DEVICES: '2,3' } },
      workDir,
    );
    const argv = plan.spec.argv;
    expect(argv[argv.indexOf('--gpus') + 1]).toBe('"device=2,3"');
    expect(argv).toContain('CUDA_VISIBLE_DEVICES=0,1');
  });

  it('has every flag that keeps a container stoppable, owned by the user and fed by the exchange dir', async () => {
    const { plan, configHash } = await dockerPlan(
      tinyConfig({ gpus: [1, 3] }),
      { image: 'llem/backend-pytorch:test', containerUser: { uid: 1000, gid: 1001 } },
      workDir,
    );
    expect(plan.spec.argv).toEqual([
      FAKE_DOCKER,
      'run',
      '--rm',
      '--init',
      '--name',
      'llem-exp-1',
      '--pull',
      'missing', // a registry image may be pulled; the default, locally built tag never is
      '--label',
      'llem.experiment=exp-1',
      '--label',
      `llem.config-hash=${configHash}`,
      '--gpus',
      '"device=1,3"',
      '--ipc=host',
      '--user',
      '1000:1001',
      '-v',
      `${workDir}:/llem/exchange`,
      '-v',
      'llem-hf-cache:/llem/hf-cache',
      '-e',
      'PYTHONUNBUFFERED=1',
      '-e',
      'TOKENIZERS_PARALLELISM=false',
      '-e',
      'CUDA_DEVICE_ORDER=PCI_BUS_ID',
      '-e',
      'HF_HOME=/llem/hf-cache',
      // --gpus renumbers the two chosen GPUs as 0 and 1 inside the container.
      '-e',
      'CUDA_VISIBLE_DEVICES=0,1',
      'llem/backend-pytorch:test',
      '--config',
      '/llem/exchange/harness-config.json',
      '--out',
      '/llem/exchange',
    ]);
    expect(plan.spec.stopCommands).toEqual({
      graceful: [FAKE_DOCKER, 'stop', '-t', '10', 'llem-exp-1'],
      force: [FAKE_DOCKER, 'kill', 'llem-exp-1'],
    });
    expect(plan.spec.graceMs).toBe(10_000);
  });

  it('uses --gpus all without gpus, --shm-size when asked, a host cache dir, and the package version as tag', async () => {
    const { plan } = await dockerPlan(
      tinyConfig(),
      { shmSize: '16g', hfCache: { hostDir: '/data/hf' } },
      workDir,
    );
    const argv = plan.spec.argv.join(' ');
    expect(argv).toContain('--gpus all');
    expect(argv).toContain('--shm-size 16g');
    expect(argv).not.toContain('--ipc=host');
    expect(argv).toContain('-v /data/hf:/llem/hf-cache');
    expect(argv).not.toContain('CUDA_VISIBLE_DEVICES');
    expect(argv).toMatch(/ llem\/backend-pytorch:\d+\.\d+\.\d+ --config /);
    expect(argv).toContain('--pull never');
  });

  it('takes the docker binary and image from LLEM_DOCKER and LLEM_PYTORCH_IMAGE', async () => {
    const plugin = createPytorchBackend({
      env: { PATH: '/nowhere', LLEM_DOCKER: FAKE_DOCKER, LLEM_PYTORCH_IMAGE: 'registry.example/llem:dev' },
    });
    const { config, configHash } = resolveExperimentConfig(tinyConfig(), { backends: catalogOf(plugin) });
    const plan = await plugin.prepare({
      config,
      section: pytorchSection(config),
      configHash,
      experimentId: 'e',
      workDir,
      launch: 'docker',
    });
    expect(plan.spec.argv[0]).toBe(FAKE_DOCKER);
    expect(plan.spec.argv).toContain('registry.example/llem:dev');
    expect(plan.spec.stopCommands?.force?.[0]).toBe(FAKE_DOCKER);
  });

  it('fails with a fix when the docker client is missing', async () => {
    const plugin = createPytorchBackend({ env: { PATH: '/nowhere' } });
    const { config, configHash } = resolveExperimentConfig(tinyConfig(), { backends: catalogOf(plugin) });
    await expect(
      plugin.prepare({
        config,
        section: pytorchSection(config),
        configHash,
        experimentId: 'e',
        workDir,
        launch: 'docker',
      }),
    ).rejects.toMatchObject({
      name: 'BackendError',
      fix: expect.stringContaining('launch: local'),
    });
  });

  it('passes HF_TOKEN only through a read-only mount of a 0600 file outside the exchange dir, and lists it for cleanup', async () => {
    const token = 'hf_secret_do_not_leak_123';
    const secretsDir = await tempDir('secrets');
    const plugin = createPytorchBackend({
      docker: FAKE_DOCKER,
      env: { PATH: process.env.PATH, HF_TOKEN: token },
      secretsDir,
    });
    const { config, configHash } = resolveExperimentConfig(tinyConfig(), { backends: catalogOf(plugin) });
    const plan = await plugin.prepare({
      config,
      section: pytorchSection(config),
      configHash,
      experimentId: 'e',
      workDir,
      launch: 'docker',
    });
    const argv = plan.spec.argv;
    // No --env-file: `docker inspect` shows its variables. The file is mounted; python loads it.
    expect(argv).not.toContain('--env-file');
    const mount = argv.find((arg) => arg.endsWith(':/run/llem/secrets.env:ro'))!;
    const envFile = mount.slice(0, -':/run/llem/secrets.env:ro'.length);
    expect(envFile.startsWith(secretsDir)).toBe(true);
    expect(argv[argv.indexOf('--entrypoint') + 1]).toBe('python');
    const image = argv.indexOf(DEFAULT_IMAGE);
    expect(argv.slice(image + 1, image + 2)).toEqual(['-c']);
    expect(argv.slice(image + 3)).toEqual([
      '/run/llem/secrets.env',
      '--config',
      '/llem/exchange/harness-config.json',
      '--out',
      '/llem/exchange',
    ]);
    expect(plan.cleanupPaths).toEqual([envFile]);
    const { statSync, readFileSync } = await import('node:fs');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(envFile, 'utf8')).toBe(`HF_TOKEN=${token}\n`);
    const everything = JSON.stringify({
      argv: plan.spec.argv,
      env: plan.spec.env,
      files: plan.files,
      description: plan.description,
    });
    expect(everything).not.toContain(token);
    await rm(secretsDir, { recursive: true, force: true });
  });
});

describe('LLEM_DOCKER_RUN_ARGS and LLEM_DOCKER_GPUS', () => {
  let workDir: string;
  beforeAll(async () => {
    workDir = await tempDir('launch-settings');
  });
  afterAll(() => rm(workDir, { recursive: true, force: true }));

  it('adds the flags before the image and leaves out --gpus with LLEM_DOCKER_GPUS=none', async () => {
    const env = {
      PATH: process.env.PATH,
      LLEM_DOCKER_RUN_ARGS: '["--memory", "2g", "-v", "/data/my models:/models:ro"]',
      LLEM_DOCKER_GPUS: 'none',
    };
    const { plan } = await dockerPlan(tinyConfig({ gpus: [1] }), { env }, workDir);
    const argv = plan.spec.argv;
    const image = argv.indexOf(DEFAULT_IMAGE);
    expect(argv.slice(image - 4, image)).toEqual(['--memory', '2g', '-v', '/data/my models:/models:ro']);
    expect(argv).not.toContain('--gpus');
    expect(argv.join(' ')).not.toContain('CUDA_VISIBLE_DEVICES');
    // Options given in code win over the environment.
    const { plan: coded } = await dockerPlan(
      tinyConfig({ gpus: [1] }),
      { env, extraDockerRunArgs: [], dockerGpus: true },
      workDir,
    );
    expect(coded.spec.argv).not.toContain('--memory');
    expect(coded.spec.argv).toContain('--gpus');
  });

  const example = /\["--memory", "32g"/;
  it.each([
    ['LLEM_DOCKER_RUN_ARGS', '--memory 2g', /LLEM_DOCKER_RUN_ARGS: '--memory 2g' is not JSON/, example],
    ['LLEM_DOCKER_RUN_ARGS', '{"memory": "2g"}', /must be a JSON array of strings/, example],
    ['LLEM_DOCKER_RUN_ARGS', '["--memory", 2]', /must be a JSON array of strings/, example],
    ['LLEM_DOCKER_RUN_ARGS', '["--name=other"]', /--name=other is set by llem itself/, /Remove --name=other/],
    ['LLEM_DOCKER_RUN_ARGS', '["-d"]', /-d is set by llem itself/, /Remove -d/],
    ['LLEM_DOCKER_GPUS', 'off', /LLEM_DOCKER_GPUS: 'off' is not one of auto, none/, /LLEM_DOCKER_GPUS=none/],
  ])('refuses %s=%s with a ConfigError that says the fix', (name, value, message, fix) => {
    let error: unknown;
    try {
      dockerLaunchSettings({ [name]: value });
    } catch (caught) {
      error = caught;
    }
    expect(isConfigError(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect((error as { fix?: string }).fix).toMatch(fix);
  });

  it('fails the plugin load, not a run, on a bad value (the CLI exits 2 before anything starts)', async () => {
    const { default: plugin } = await import('../src/llem-plugin.js');
    const saved = process.env.LLEM_DOCKER_RUN_ARGS;
    process.env.LLEM_DOCKER_RUN_ARGS = 'nope';
    try {
      expect(() => plugin.create({})).toThrow(/LLEM_DOCKER_RUN_ARGS/);
    } finally {
      if (saved === undefined) delete process.env.LLEM_DOCKER_RUN_ARGS;
      else process.env.LLEM_DOCKER_RUN_ARGS = saved;
    }
  });
});

/**
 * The real docker client (/usr/local/bin/docker) parses every flag before it contacts a daemon.
 * Pointed at a socket that does not exist, an argv it accepts fails with "Cannot connect to the
 * Docker daemon"; one it rejects fails with "unknown flag" / "invalid argument".
 */
const REAL_DOCKER = '/usr/local/bin/docker';
describe.skipIf(!existsSync(REAL_DOCKER))('the real docker client accepts our argv', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('real-docker');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  function parseWithRealDocker(argv: readonly string[]) {
    const result = spawnSync(REAL_DOCKER, argv.slice(1), {
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        DOCKER_HOST: `unix://${join(dir, 'no-daemon.sock')}`,
        DOCKER_CONFIG: dir,
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    return { status: result.status, stderr: result.stderr };
  }

  it('rejects a bad flag (the probe can fail)', () => {
    const probe = parseWithRealDocker(['docker', 'run', '--rm', '--no-such-flag', 'x', 'alpine']);
    expect(probe.stderr).toMatch(/unknown flag/);
    const badGpu = parseWithRealDocker(['docker', 'run', '--gpus', 'device=0,bogus', 'alpine']);
    expect(badGpu.stderr).toMatch(/invalid argument/);
  });

  const cases: Array<[string, Record<string, unknown>, PytorchBackendOptions]> = [
    ['all GPUs, ipc host, named volume', tinyConfig(), {}],
    ['two GPUs', tinyConfig({ gpus: [0, 1] }), {}],
    [
      'one GPU, shm size, host cache dir',
      tinyConfig({ gpus: [2] }),
      { shmSize: '8g', hfCache: { hostDir: '/tmp/hf cache' } },
    ],
    [
      'no GPU flag, image user, extra flags',
      tinyConfig(),
      {
        dockerGpus: false,
        containerUser: null,
        extraDockerRunArgs: ['--network', 'host', '--memory', '32g'],
      },
    ],
    [
      'secrets env file and offline mode',
      tinyConfig({ gpus: [0, 1, 2, 3] }),
      { env: { PATH: process.env.PATH, HF_TOKEN: 'hf_x', HF_HUB_OFFLINE: '1' } },
    ],
    [
      'read-only dataset and model mounts, registry image',
      tinyConfig({ dataset: { source: 'jsonl', path: import.meta.filename }, model: import.meta.dirname }),
      { image: 'ghcr.io/example/llem:1' },
    ],
  ];
  for (const [name, raw, options] of cases) {
    it(`parses: ${name}`, async () => {
      const workDir = join(dir, 'work with space');
      const { mkdir } = await import('node:fs/promises');
      await mkdir(workDir, { recursive: true });
      const { plan } = await dockerPlan(
        raw,
        { ...options, secretsDir: dir },
        workDir,
        'study-1.exp_2-cycle-3',
      );
      const result = parseWithRealDocker(plan.spec.argv);
      expect(result.stderr).toContain('Cannot connect to the Docker daemon');
      expect(result.status).toBe(125);
      for (const command of [plan.spec.stopCommands!.graceful!, plan.spec.stopCommands!.force!]) {
        expect(parseWithRealDocker(command).stderr).toContain('Cannot connect to the Docker daemon');
      }
      for (const path of plan.cleanupPaths ?? []) await rm(path, { force: true });
    });
  }

  it('builds argv that the client accepts straight from buildDockerRunArgv', () => {
    const argv = buildDockerRunArgv({
      docker: 'docker',
      image: 'llem/backend-pytorch:0.1.0',
      experimentId: 'x',
      configHash: '0123456789abcdef',
      workDir: dir,
      gpus: [7],
      hfCache: { volume: 'llem-hf-cache' },
      user: { uid: 0, gid: 0 },
      env: { A: 'b=c d' },
      command: ['--config', '/llem/exchange/c.json', '--out', '/llem/exchange'],
    });
    expect(parseWithRealDocker(argv).stderr).toContain('Cannot connect to the Docker daemon');
  });
});

describe('docker mounts', () => {
  it('refuses a run directory whose path contains ":" (docker -v cannot escape it)', async () => {
    const base = await tempDir('colon');
    const { mkdir } = await import('node:fs/promises');
    const workDir = join(base, 'run:1');
    await mkdir(workDir);
    await expect(dockerPlan(tinyConfig(), {}, workDir)).rejects.toThrow(/contains ':'/);
    await rm(base, { recursive: true, force: true });
  });
});

describe('container inputs', () => {
  it('mounts a JSONL dataset and a local model read-only and points the harness config at them', async () => {
    const workDir = await tempDir('inputs');
    const { writeFile, mkdir } = await import('node:fs/promises');
    await writeFile(join(workDir, '..', `${workDir.split('/').pop()}-prompts.jsonl`), '{"prompt":"hi"}\n');
    const dataset = join(workDir, '..', `${workDir.split('/').pop()}-prompts.jsonl`);
    const model = join(workDir, '..', `${workDir.split('/').pop()}-model`);
    await mkdir(model);
    const { plan, configHash } = await dockerPlan(
      tinyConfig({ dataset: { source: 'jsonl', path: dataset }, model }),
      {},
      workDir,
    );
    const argv = plan.spec.argv.join(' ');
    expect(argv).toContain(`-v ${dataset}:/llem/inputs/dataset/${dataset.split('/').pop()}:ro`);
    expect(argv).toContain(`-v ${model}:/llem/inputs/model:ro`);
    const document = JSON.parse(plan.files![0]!.content);
    expect(document.config.dataset.path).toBe(`/llem/inputs/dataset/${dataset.split('/').pop()}`);
    expect(document.config.model).toBe('/llem/inputs/model');
    expect(document.config_hash).toBe(configHash); // the hash stays the host config's
    await rm(dataset, { force: true });
    await rm(model, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  it('refuses a dataset or model path that does not exist (docker -v would create it as root)', async () => {
    const workDir = await tempDir('inputs-missing');
    await expect(
      dockerPlan(tinyConfig({ dataset: { source: 'jsonl', path: '/nonexistent/p.jsonl' } }), {}, workDir),
    ).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining('/nonexistent/p.jsonl'),
    });
    await expect(dockerPlan(tinyConfig({ model: '/nonexistent/model' }), {}, workDir)).rejects.toMatchObject({
      name: 'ConfigError',
    });
    // An HF id is not a path: nothing is mounted.
    const { plan } = await dockerPlan(tinyConfig({ model: 'org/model' }), {}, workDir);
    expect(plan.spec.argv.join(' ')).not.toContain('/llem/inputs');
    await rm(workDir, { recursive: true, force: true });
  });
});
