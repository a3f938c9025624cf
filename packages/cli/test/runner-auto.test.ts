import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonLines, llem, type Sandbox, sandbox } from './llem.js';

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
  const plan = jsonLines(r.stdout)[0] as { experiments: { launch: string; command: string }[] };
  return plan.experiments[0]!;
}

describe('--runner auto', () => {
  it('uses Docker when the client, the daemon and the backend image are there', async () => {
    const box = sandbox('/nonexistent/python');
    const env = withFakeDocker(box, 0);
    const planned = await plannedLaunch(env, box.write('e.yaml', experiment));
    expect(planned.launch).toBe('docker');
    expect(planned.command).toMatch(/docker run .*llem-test\/pytorch:1/);
    expect(readFileSync(join(box.dir, 'docker-argv.log'), 'utf8')).toContain(
      'image inspect --format {{.Id}} llem-test/pytorch:1',
    );
  });

  it('runs locally when the image is missing, and an explicit choice always wins', async () => {
    const box = sandbox('/nonexistent/python');
    const missing = withFakeDocker(box, 1);
    const path = box.write('e.yaml', experiment);
    expect((await plannedLaunch(missing, path)).launch).toBe('local');

    const ready = withFakeDocker(sandbox('/nonexistent/python'), 0);
    expect((await plannedLaunch(ready, path, ['--runner', 'local'])).launch).toBe('local');
    expect((await plannedLaunch({ ...ready, LLEM_RUNNER: 'local' }, path)).launch).toBe('local');
    // The config's own runner field decides too.
    expect((await plannedLaunch(ready, box.write('l.yaml', `${experiment}runner: local\n`))).launch).toBe(
      'local',
    );
  });

  it('runs locally without any docker client', async () => {
    const box = sandbox('/nonexistent/python');
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
