import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendError, InterruptedError } from '@llem/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPytorchBackend, HARNESS_DIR, HarnessFailedError } from '../src/index.js';
import {
  dockerCalls,
  harnessPython,
  installFakeDocker,
  type LaunchResult,
  launch,
  tempDir,
  tinyConfig,
} from './helpers.js';

/**
 * Docker launches against a fake `docker` client (this machine has no daemon): the plan's argv,
 * the exchange directory, the stop/kill path and error reading, end to end through the real runner.
 */
describe('docker launch through a fake docker client', () => {
  let python: string;
  let dir: string;
  const runs: LaunchResult[] = [];
  beforeAll(async () => {
    python = harnessPython();
    dir = await tempDir('fake-docker');
  });
  afterAll(async () => {
    await Promise.all(runs.map((run) => run.cleanup()));
    await rm(dir, { recursive: true, force: true });
  });

  async function setup(
    name: string,
    settings: Record<string, string>,
    extra: { graceSeconds?: number; env?: NodeJS.ProcessEnv } = {},
  ) {
    const home = join(dir, name);
    const fake = await installFakeDocker(home, {
      FAKE_DOCKER_PYTHON: python,
      FAKE_DOCKER_HARNESS_DIR: HARNESS_DIR,
      ...settings,
    });
    const plugin = createPytorchBackend({
      docker: fake.docker,
      dockerGpus: false,
      secretsDir: home,
      graceSeconds: extra.graceSeconds ?? 1,
      env: extra.env ?? { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    return { ...fake, plugin, home };
  }

  const containerGone = async (stateDir: string) =>
    (await readdir(stateDir)).filter((name) => name.endsWith('.pid')).length === 0;

  it('runs the harness "in the container": config in and result out through the exchange dir, token via env file', async () => {
    const fake = await setup(
      'ok',
      {},
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, HF_TOKEN: 'hf_fake_token' } },
    );
    const run = await launch(fake.plugin, tinyConfig({ n: 4 }), {
      launch: 'docker',
      experimentId: 'dock-ok',
    });
    runs.push(run);
    expect(run.outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
    const result = await run.collect();
    expect(result.requests).toBe(4);
    expect(result.tokens.output).toBe(result.tokens.per_request_output!.reduce((a, b) => a + b, 0));
    const [call] = await dockerCalls(fake.log);
    expect(call!.argv.slice(0, 5)).toEqual(['run', '--rm', '--init', '--name', 'llem-dock-ok']);
    // The secrets bootstrap (python -c <code> <secrets file>) loads the token, then runs the harness.
    expect(call!.entrypoint).toBe('python');
    expect(call!.command).toEqual([
      '-c',
      expect.stringContaining('runpy.run_module("llem_harness"'),
      '/run/llem/secrets.env',
      '--config',
      '/llem/exchange/harness-config.json',
      '--out',
      '/llem/exchange',
    ]);
    expect(call!.secretsFileMode).toBe(0o600); // the secrets file existed, 0600, while the container ran
    expect(JSON.stringify(call!.argv)).not.toContain('hf_fake_token');
    expect((await readdir(fake.home)).filter((name) => name.endsWith('.env'))).toEqual([]); // deleted afterwards
    expect(await containerGone(fake.stateDir)).toBe(true);
  });

  it('reads the error file the harness wrote inside the container', async () => {
    const fake = await setup('harness-error', {});
    const { writeFile } = await import('node:fs/promises');
    const dataset = join(fake.home, 'broken.jsonl');
    await writeFile(dataset, '{"prompt": "fine"}\nnot json\n');
    const run = await launch(fake.plugin, tinyConfig({ dataset: { source: 'jsonl', path: dataset } }), {
      launch: 'docker',
      experimentId: 'dock-err',
    });
    runs.push(run);
    expect(run.outcome.exitCode).not.toBe(0);
    const error = (await run.collect().catch((e: unknown) => e)) as HarnessFailedError;
    expect(error).toBeInstanceOf(HarnessFailedError);
    expect(error.kind).toBe('dataset');
    expect(error.message).toContain('not valid JSON'); // the harness read the mounted dataset file
    expect(existsSync(join(run.ctx.workDir, 'error.json'))).toBe(true);
  });

  it('stops the container by name when the run is interrupted', async () => {
    const fake = await setup('interrupt', { FAKE_DOCKER_MODE: 'hang' });
    const controller = new AbortController();
    const run = await launch(fake.plugin, tinyConfig(), {
      launch: 'docker',
      experimentId: 'dock-int',
      signal: controller.signal,
      onSpawn: () => setTimeout(() => controller.abort(), 300),
    });
    runs.push(run);
    expect(run.outcome.kind).toBe('interrupted');
    const verbs = (await dockerCalls(fake.log)).map((call) => call.argv.slice(0, 3).join(' '));
    expect(verbs).toContain('stop -t 1');
    expect((await dockerCalls(fake.log)).find((call) => call.argv[0] === 'stop')!.argv.at(-1)).toBe(
      'llem-dock-int',
    );
    expect(await containerGone(fake.stateDir)).toBe(true);
    await expect(run.collect()).rejects.toBeInstanceOf(InterruptedError);
  });

  it('kills the container when docker stop does not work', async () => {
    const fake = await setup('kill', {
      FAKE_DOCKER_MODE: 'hang',
      FAKE_DOCKER_IGNORE_TERM: '1',
      FAKE_DOCKER_STOP_FAILS: '1',
    });
    const controller = new AbortController();
    const run = await launch(fake.plugin, tinyConfig(), {
      launch: 'docker',
      experimentId: 'dock-kill',
      signal: controller.signal,
      onSpawn: () => setTimeout(() => controller.abort(), 300),
    });
    runs.push(run);
    expect(run.outcome.kind).toBe('interrupted');
    const calls = (await dockerCalls(fake.log)).map((call) => call.argv.join(' '));
    expect(calls).toContain('stop -t 1 llem-dock-kill');
    expect(calls).toContain('kill llem-dock-kill');
    expect(await containerGone(fake.stateDir)).toBe(true);
  });

  it('stops the container on timeout and says so', async () => {
    const fake = await setup('timeout', { FAKE_DOCKER_MODE: 'hang' });
    const run = await launch(fake.plugin, tinyConfig({ timeout_seconds: 0.5 }), {
      launch: 'docker',
      experimentId: 'dock-to',
    });
    runs.push(run);
    expect(run.outcome.kind).toBe('timed-out');
    expect(
      (await dockerCalls(fake.log)).some((call) => call.argv.join(' ') === 'stop -t 1 llem-dock-to'),
    ).toBe(true);
    expect(await containerGone(fake.stateDir)).toBe(true);
    await expect(run.collect()).rejects.toThrow(/ran past its timeout/);
  });

  it('explains a missing image with the command that builds it', async () => {
    const fake = await setup('no-image', {
      FAKE_DOCKER_MODE: 'fail',
      FAKE_DOCKER_EXIT: '125',
      FAKE_DOCKER_STDERR:
        "Unable to find image 'llem/backend-pytorch:0.1.0' locally\ndocker: Error response from daemon: pull access denied for llem/backend-pytorch, repository does not exist or may require 'docker login'",
    });
    const run = await launch(fake.plugin, tinyConfig(), { launch: 'docker', experimentId: 'dock-img' });
    runs.push(run);
    const error = (await run.collect().catch((e: unknown) => e)) as BackendError;
    expect(error).toBeInstanceOf(BackendError);
    expect(error.message).toContain('is not on this machine');
    expect(error.message).toContain('pull access denied'); // the stderr tail is kept
    expect(error.fix).toContain('docker build -t llem/backend-pytorch:');
  });

  it('explains a container name left over by an earlier killed run', async () => {
    const fake = await setup('conflict', {});
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(fake.stateDir, 'llem-dock-dup.pid'), '999999');
    const run = await launch(fake.plugin, tinyConfig(), { launch: 'docker', experimentId: 'dock-dup' });
    runs.push(run);
    expect(run.outcome.exitCode).toBe(125);
    await expect(run.collect()).rejects.toMatchObject({ fix: 'Remove it: docker rm -f llem-dock-dup' });
  });
});
