import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DoctorCheck } from '@llem/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable } from '../src/exec.js';
import { createPytorchBackend, DEFAULT_IMAGE } from '../src/index.js';
import { harnessPython, installFakeDocker, tempDir } from './helpers.js';

const byName = (checks: DoctorCheck[]) => Object.fromEntries(checks.map((check) => [check.name, check]));

describe('doctor', () => {
  let dir: string;
  let python: string;
  beforeAll(async () => {
    dir = await tempDir('doctor');
    python = harnessPython();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reports a healthy docker setup and an importable torch (docker found on PATH)', async () => {
    const fake = await installFakeDocker(join(dir, 'healthy'), { FAKE_DOCKER_IMAGES: DEFAULT_IMAGE });
    const plugin = createPytorchBackend({
      python,
      env: { PATH: `${join(dir, 'healthy')}:${process.env.PATH}`, HOME: process.env.HOME },
    });
    const checks = byName(await plugin.doctor!());
    expect(checks['docker client']).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining('Docker version'),
    });
    expect(checks['docker daemon']).toMatchObject({ status: 'ok' });
    expect(checks['docker GPU runtime']).toMatchObject({ status: 'ok' });
    expect(checks['docker image']).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining(DEFAULT_IMAGE),
    });
    expect(checks['python venv']).toMatchObject({ status: 'ok', detail: python });
    expect(checks['torch import']?.detail).toMatch(/^torch \d+\.\d+/);
    expect(fake.docker.endsWith('/docker')).toBe(true);
  });

  it('warns with a fix when the daemon is down, and when the image is missing', async () => {
    const down = await installFakeDocker(join(dir, 'down'), { FAKE_DOCKER_DAEMON: 'down' });
    const downChecks = byName(
      await createPytorchBackend({
        docker: down.docker,
        python: '/bin/false',
        env: { PATH: process.env.PATH },
      }).doctor!(),
    );
    expect(downChecks['docker daemon']).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('systemctl start docker'),
    });
    expect(downChecks['docker image']).toBeUndefined();

    const noImage = await installFakeDocker(join(dir, 'no-image'), {
      FAKE_DOCKER_IMAGES: '',
      FAKE_DOCKER_RUNTIMES: '{"runc":{}}',
    });
    const checks = byName(
      await createPytorchBackend({
        docker: noImage.docker,
        python: '/bin/false',
        env: { PATH: process.env.PATH },
      }).doctor!(),
    );
    expect(checks['docker GPU runtime']).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('nvidia-ctk'),
    });
    expect(checks['docker image']).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('docker build -t'),
    });
  });

  it('fails the python checks with a fix when there is no venv or torch does not import', async () => {
    const noVenv = byName(
      await createPytorchBackend({
        docker: '/nonexistent/docker',
        env: { PATH: process.env.PATH, LLEM_VENV_DIR: join(dir, 'empty') },
      }).doctor!(),
    );
    expect(noVenv['docker client']).toMatchObject({ status: 'warn' });
    expect(noVenv['python venv']).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('llem setup pytorch'),
    });

    const bare = byName(
      await createPytorchBackend({
        docker: '/nonexistent/docker',
        python: '/usr/bin/python3',
        env: { PATH: process.env.PATH },
      }).doctor!(),
    );
    expect(bare['torch import']).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('No module named'),
    });
  });
});

describe.skipIf(!findExecutable('docker', process.env.PATH))(
  'dockerReadiness with the real docker client',
  () => {
    it('blames a daemon that is not reachable, not the image', async () => {
      const { dockerReadiness } = await import('../src/doctor.js');
      const dir = await tempDir('readiness');
      const readiness = await dockerReadiness({
        docker: 'docker',
        image: 'llem/backend-pytorch:0.0.0',
        env: { PATH: process.env.PATH, DOCKER_HOST: `unix://${dir}/no-daemon.sock` },
      });
      expect(readiness).toMatchObject({
        ready: false,
        reason: 'Docker is installed but its daemon is not reachable.',
        fix: expect.stringMatching(/DOCKER_HOST/),
      });
      await rm(dir, { recursive: true, force: true });
    });
  },
);

describe('buildHarnessImage', () => {
  it('runs docker build on the package Dockerfile and streams its log', async () => {
    const { buildHarnessImage, DOCKERFILE_PATH, DOCKER_CONTEXT_DIR } = await import('../src/index.js');
    const dir = await tempDir('build');
    const fake = await installFakeDocker(dir, {});
    const lines: string[] = [];
    const tag = await buildHarnessImage({
      docker: fake.docker,
      onProgress: (line) => lines.push(line),
      env: { PATH: process.env.PATH },
    });
    expect(tag).toBe(DEFAULT_IMAGE);
    const { dockerCalls } = await import('./helpers.js');
    expect((await dockerCalls(fake.log))[0]?.argv).toEqual([
      'build',
      '-t',
      DEFAULT_IMAGE,
      '-f',
      DOCKERFILE_PATH,
      DOCKER_CONTEXT_DIR,
    ]);
    expect(lines).toContain('#9 DONE 0.1s');

    // A base of one's own and a TLS-inspecting proxy's CA bundle (a build secret, not a build arg).
    await buildHarnessImage({
      docker: fake.docker,
      env: { PATH: process.env.PATH },
      buildArgs: { BASE_IMAGE: 'my-mirror/pytorch:2.9.1', PYTHON_PACKAGES: 'install' },
      caBundle: '/etc/ssl/certs/ca-certificates.crt',
    });
    const [, second] = await dockerCalls(fake.log);
    expect(second?.argv).toEqual([
      'build',
      '-t',
      DEFAULT_IMAGE,
      '-f',
      DOCKERFILE_PATH,
      '--build-arg',
      'BASE_IMAGE=my-mirror/pytorch:2.9.1',
      '--build-arg',
      'PYTHON_PACKAGES=install',
      '--secret',
      'id=ca-bundle,src=/etc/ssl/certs/ca-certificates.crt',
      DOCKER_CONTEXT_DIR,
    ]);

    const failing = await installFakeDocker(join(dir, 'fail'), { FAKE_DOCKER_BUILD_EXIT: '1' });
    await expect(
      buildHarnessImage({ docker: failing.docker, env: { PATH: process.env.PATH } }),
    ).rejects.toThrow(/docker build of .* failed \(exit 1\)/);
    await rm(dir, { recursive: true, force: true });
  });
});
