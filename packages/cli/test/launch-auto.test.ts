import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { jsonLines, llem, type Sandbox, sandbox } from './llem.js';

// The harness python is real: `--dry-run` runs the preflight, which probes it for local launches.

/** A fake `docker` client on PATH (this machine may have no daemon): records argv, exits as told. */
function withFakeDocker(box: Sandbox, exitCode: number): NodeJS.ProcessEnv {
  const bin = join(box.dir, 'fake-bin');
  mkdirSync(bin, { recursive: true });
  const script = box.write(
    'fake-bin/docker',
    `#!/bin/sh\necho "$*" >> "${box.dir}/docker-argv.log"\nexit ${exitCode}\n`,
  );
  chmodSync(script, 0o755);
  return {
    ...box.env,
    PATH: `${bin}:${box.env.PATH}`,
    DOCKER_HOST: `unix://${box.dir}/docker.sock`,
    LLEM_PYTORCH_IMAGE: 'llem-test/pytorch:1',
  };
}

const experiment = 'model: builtin:tiny-gpt2\nprecision: fp32\nn: 4\n';

async function plannedLaunch(
  env: NodeJS.ProcessEnv,
  path: string,
  extra: string[] = [],
): Promise<{ launch: string; command: string }> {
  const r = await llem(['run', path, '--dry-run', '--json', ...extra], env);
  expect(r.code, r.stderr).toBe(0);
  const plan = jsonLines(r.stdout).find((line) => line.type === 'plan') as {
    experiments: { launch: string; command: string }[];
  };
  return plan.experiments[0]!;
}

describe('--launch auto', () => {
  it('uses Docker when the client, the daemon and the backend image are there', async () => {
    const box = sandbox(inject('python'));
    const env = withFakeDocker(box, 0);
    const planned = await plannedLaunch(env, box.write('e.yaml', experiment));
    expect(planned.launch).toBe('docker');
    expect(planned.command).toMatch(/docker run .*llem-test\/pytorch:1/);
    expect(readFileSync(join(box.dir, 'docker-argv.log'), 'utf8')).toContain(
      'image inspect --format {{.Id}} llem-test/pytorch:1',
    );
  });

  it('runs locally when the image is missing, and an explicit choice always wins', async () => {
    const box = sandbox(inject('python'));
    const missing = withFakeDocker(box, 1);
    const path = box.write('e.yaml', experiment);
    expect((await plannedLaunch(missing, path)).launch).toBe('local');

    const ready = withFakeDocker(sandbox(inject('python')), 0);
    expect((await plannedLaunch(ready, path, ['--launch', 'local'])).launch).toBe('local');
    expect((await plannedLaunch({ ...ready, LLEM_LAUNCH: 'local' }, path)).launch).toBe('local');
    // The config's own launch field decides too.
    expect((await plannedLaunch(ready, box.write('l.yaml', `${experiment}launch: local\n`))).launch).toBe(
      'local',
    );
  });

  it('still reads the old names (runner:, --runner, LLEM_RUNNER) with one notice each, the same hash', async () => {
    const ready = withFakeDocker(sandbox(inject('python')), 0);
    const box = sandbox(inject('python'));
    const now = await llem(
      ['run', box.write('n.yaml', `${experiment}launch: local\n`), '--dry-run', '--json'],
      ready,
    );
    const old = await llem(
      ['run', box.write('o.yaml', `${experiment}runner: local\n`), '--dry-run', '--json'],
      ready,
    );
    expect(old.code, old.stderr).toBe(0);
    const plan = (r: typeof old) =>
      jsonLines(r.stdout).find((line) => line.type === 'plan') as {
        experiments: { launch: string; configHash: string }[];
      };
    expect(plan(old).experiments[0]).toMatchObject({
      launch: 'local',
      configHash: plan(now).experiments[0]!.configHash,
    });
    expect(jsonLines(old.stdout).filter((line) => line.type === 'notice')).toEqual([
      { type: 'notice', schemaVersion: 1, message: expect.stringMatching(/^`runner:` is now `launch:`/) },
    ]);
    expect(jsonLines(now.stdout).filter((line) => line.type === 'notice')).toEqual([]);

    const flag = await llem(
      ['run', box.write('f.yaml', experiment), '--dry-run', '--runner', 'local'],
      ready,
    );
    expect(flag.code, flag.stderr).toBe(0);
    expect(flag.stderr).toMatch(/^notice: --runner is now --launch/m);
    const env = await llem(['run', box.write('f.yaml', experiment), '--dry-run'], {
      ...ready,
      LLEM_RUNNER: 'local',
    });
    expect(env.stderr).toMatch(/^notice: LLEM_RUNNER is now LLEM_LAUNCH/m);
    expect(env.stdout).toMatch(/launch local/);
  });

  it('runs locally without any docker client', async () => {
    const box = sandbox(inject('python'));
    const env = {
      ...box.env,
      PATH: '/usr/bin:/bin',
      DOCKER_HOST: 'unix:///nonexistent.sock',
      LLEM_DOCKER: 'docker-not-installed-here',
    };
    expect((await plannedLaunch(env, box.write('e.yaml', experiment))).launch).toBe('local');
    expect(existsSync(join(box.dir, 'docker-argv.log'))).toBe(false);
  });
});
