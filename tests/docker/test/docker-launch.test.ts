import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { classifyDockerFailure } from '@llem/backend-pytorch';
import { tinyPytorchYaml } from '@llem/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  allText,
  containerEvents,
  docker,
  dockerSandbox,
  dockerSetup,
  finished,
  jsonLines,
  llem,
  llemContainers,
  processesMentioning,
  runningContainer,
  type Sandbox,
  type StoredResult,
  skipReason,
  startLlem,
  storedResults,
  until,
} from './llem.js';

const setup = dockerSetup();

/** The quickstart's experiment, one run: the seeded tiny GPT-2 on the CPU. */
const experiment = tinyPytorchYaml;

/**
 * Long enough to be caught running: many prompts, many new tokens. `n` differs per test, so each
 * test has its own experiment id, hence its own container name and events.
 */
const longExperiment = (n: number) =>
  experiment().replace('n: 4', `n: ${n}`).replace('max_output_tokens: 8', 'max_output_tokens: 32');

let longN = 402;

const boxes: Sandbox[] = [];
function box(extraRunArgs: readonly string[] = []): Sandbox {
  const made = dockerSandbox(setup!, extraRunArgs);
  boxes.push(made);
  return made;
}
afterAll(() => {
  for (const made of boxes) made.remove();
});

/** Nothing of this sandbox is left: no process, no llem container (running or stopped). */
async function expectNothingLeft(made: Sandbox): Promise<void> {
  await until(() => processesMentioning(made.dir).length === 0, 10_000);
  expect(processesMentioning(made.dir)).toEqual([]);
  // --rm: the daemon removes a container just after it exits, on its own time.
  await until(() => llemContainers(setup!).length === 0, 30_000);
  expect(llemContainers(setup!)).toEqual([]);
}

describe.skipIf(!setup)(
  `launch: docker in a real container${setup ? '' : ` (skipped: ${skipReason()})`}`,
  () => {
    it('measures the quickstart model end to end, with the same exact token counts as the local launch', async () => {
      const made = box();
      const inDocker = await llem(
        ['run', made.write('docker.yaml', experiment('launch: docker\n'))],
        made.env,
      );
      expect(inDocker.code, inDocker.stderr).toBe(0);
      const local = dockerSandbox(setup!);
      boxes.push(local);
      const onHost = await llem(['run', local.write('local.yaml', experiment('launch: local\n'))], local.env);
      expect(onHost.code, onHost.stderr).toBe(0);

      const [container] = storedResults(made.resultsDir);
      const [host] = storedResults(local.resultsDir);
      expect(container!.backend).toMatchObject({ name: 'pytorch', launch: 'docker' });
      // It really ran in the image: Debian's python, in a container, on the CPU.
      expect(container!.environment).toMatchObject({
        container: true,
        executable: '/usr/bin/python',
        device: 'cpu',
      });
      expect(host!.backend.launch).toBe('local');
      expect(host!.environment.executable).not.toBe('/usr/bin/python');
      // 4 prompts x 16 input tokens; deterministic decoding of the seeded model: 8 new tokens each.
      expect(container!.workload).toMatchObject({
        requests: 4,
        input_tokens: 64,
        output_tokens: 32,
        total_tokens: 96,
      });
      const counts = ({ workload: w }: StoredResult) => [
        w.requests,
        w.input_tokens,
        w.output_tokens,
        w.total_tokens,
      ];
      expect(counts(container!)).toEqual(counts(host!));
      await expectNothingLeft(made);
    });

    it('Ctrl+C: docker stop, then docker kill when the container ignores it; exit 130, no container left', async () => {
      // --sig-proxy=false: the docker client does not pass SIGINT/SIGTERM on, so only llem's stop
      // commands reach the container; its stop signal (SIGWINCH) is one python ignores, so the polite
      // stop cannot work and the kill must.
      const made = box(['--sig-proxy=false', '--stop-signal', 'SIGWINCH']);
      const since = Math.floor(Date.now() / 1000);
      const child = startLlem(
        ['run', made.write('long.yaml', longExperiment(401)), '--launch', 'docker', '--json'],
        made.env,
      );
      const result = finished(child);
      const name = await runningContainer(setup!);
      expect(name).toMatch(/^llem-/);
      child.kill('SIGINT');
      const r = await result;
      expect(r.code, r.stderr).toBe(130);
      await expectNothingLeft(made);
      const events = containerEvents(setup!, since, name);
      // docker stop sends the stop signal (28 = SIGWINCH) first; the kill (9) follows; then it dies.
      const stop = events.indexOf('kill 28');
      const kill = events.indexOf('kill 9');
      expect(stop, events.join(', ')).toBeGreaterThanOrEqual(0);
      expect(kill, events.join(', ')).toBeGreaterThan(stop);
      expect(events.indexOf('die')).toBeGreaterThan(stop);
      expect(events.at(-1)).toBe('destroy'); // --rm
      const summary = jsonLines(r.stdout).find((line) => line.type === 'summary');
      expect(summary).toMatchObject({ interrupted: true });
    });

    it('Ctrl+C with the default flags: the container stops politely and is removed', async () => {
      const made = box();
      const since = Math.floor(Date.now() / 1000);
      const child = startLlem(
        ['run', made.write('long.yaml', longExperiment(longN++)), '--launch', 'docker'],
        made.env,
      );
      const result = finished(child);
      const name = await runningContainer(setup!);
      child.kill('SIGINT');
      const r = await result;
      expect(r.code, r.stderr).toBe(130);
      await expectNothingLeft(made);
      const events = containerEvents(setup!, since, name);
      expect(events, events.join(', ')).toContain('kill 15');
      expect(events).not.toContain('kill 9');
      expect(events.at(-1)).toBe('destroy');
    });

    it('SIGKILL of llem: the watchdog stops and removes the container', async () => {
      const made = box();
      const child = startLlem(
        ['run', made.write('long.yaml', longExperiment(longN++)), '--launch', 'docker'],
        made.env,
      );
      const result = finished(child);
      await runningContainer(setup!);
      child.kill('SIGKILL');
      expect((await result).signal).toBe('SIGKILL');
      // Nobody is left to wait for: the watchdog works on its own after llem is gone.
      await until(() => llemContainers(setup!).length === 0);
      await expectNothingLeft(made);
    });

    it('timeout_seconds: the container is stopped, the run is a timeout failure, nothing is left', async () => {
      const made = box();
      const path = made.write('slow.yaml', `${longExperiment(410)}timeout_seconds: 4\nlaunch: docker\n`);
      const r = await llem(['run', path], made.env);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/time(d )?out/i);
      expect(storedResults(made.resultsDir)).toEqual([]);
      const status = jsonLines((await llem(['status', '--json'], made.env)).stdout)[0] as {
        experiments: { failed: boolean; failureKind: string | null }[];
      };
      expect(status.experiments).toEqual([expect.objectContaining({ failed: true, failureKind: 'timeout' })]);
      await expectNothingLeft(made);
    });

    it('HF_TOKEN is in no argv, `docker inspect` or stored file; the exchange dir and the dataset mount are as documented', async () => {
      const made = box();
      const token = 'hf_docker_secret_must_not_leak_7c1e';
      const env = { ...made.env, HF_TOKEN: token };
      const prompts = made.write(
        'prompts.jsonl',
        `${Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `Prompt number ${i} about energy.` })).join('\n')}\n`,
      );
      const path = made.write(
        'dataset.yaml',
        // The container lives for the harness's start-up (importing torch) at least: time to inspect it.
        experiment()
          .replace(
            'dataset: { source: synthetic, input_len: 16 }',
            `dataset: { source: jsonl, path: ${prompts} }`,
          )
          .replace('n: 4', 'n: 12'),
      );
      const child = startLlem(['run', path, '--launch', 'docker'], env);
      const result = finished(child);
      const name = await runningContainer(setup!);
      const inspectText = docker(setup!, ['inspect', name]);
      const argvOfAll = processesMentioning(token);
      const [inspect] = JSON.parse(inspectText) as [
        {
          Args: string[];
          Config: { Env: string[]; Labels: Record<string, string> };
          Mounts: { Type: string; Source: string; Destination: string; RW: boolean }[];
        },
      ];
      const r = await result;
      expect(r.code, r.stderr).toBe(0);

      expect(inspectText).not.toContain(token);
      expect(argvOfAll).toEqual([]);
      expect(r.stdout + r.stderr).not.toContain(token);
      expect(allText(made.resultsDir)).not.toContain(token);
      expect(allText(made.stateDir)).not.toContain(token);

      const mount = (destination: string) => inspect.Mounts.find((m) => m.Destination === destination);
      // The run dir is the exchange, read-write; the HF cache a named volume.
      expect(mount('/llem/exchange')).toMatchObject({ Type: 'bind', RW: true });
      expect(mount('/llem/hf-cache')).toMatchObject({ Type: 'volume', RW: true });
      // The dataset file and the secrets file are read-only; the secrets file is gone after the run.
      expect(mount('/llem/inputs/dataset/prompts.jsonl')).toMatchObject({
        Type: 'bind',
        Source: prompts,
        RW: false,
      });
      const secrets = mount('/run/llem/secrets.env');
      expect(secrets).toMatchObject({ Type: 'bind', RW: false });
      expect(existsSync(secrets!.Source)).toBe(false);
      expect(inspect.Config.Labels['llem.experiment']).toBe(name.slice('llem-'.length));
      expect(inspect.Args.join(' ')).toContain(
        '--config /llem/exchange/harness-config.json --out /llem/exchange',
      );

      const [stored] = storedResults(made.resultsDir);
      expect(stored!.workload.requests).toBe(12);
      await expectNothingLeft(made);
    });

    it('the default image (--pull never) not built: the preflight error names the file, the field and the fix; exit 2, nothing run', async () => {
      const made = box();
      const { LLEM_PYTORCH_IMAGE: _image, ...env } = made.env;
      const path = made.write('e.yaml', experiment('launch: docker\n'));
      const r = await llem(['run', path], env);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        new RegExp(`^error: launch in ${path}: .*image llem/backend-pytorch:\\S+ is not present`, 'm'),
      );
      expect(r.stderr).toMatch(/fix: llem setup pytorch --docker/);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(storedResults(made.resultsDir)).toEqual([]);
      await expectNothingLeft(made);
    });

    it('what the real docker prints for a missing image under --pull never is classified as image-missing, with the build fix', () => {
      const image = 'llem/backend-pytorch:0.0.0-never-built';
      const run = spawnSync('docker', ['run', '--rm', '--pull', 'never', image], {
        env: { ...process.env, DOCKER_HOST: setup!.host },
        encoding: 'utf8',
      });
      expect(run.status).toBe(125);
      expect(
        classifyDockerFailure({ exitCode: run.status!, stderr: run.stderr, image, containerName: 'llem-x' }),
      ).toMatchObject({
        kind: 'image-missing',
        fix: expect.stringMatching(/^Build it: llem setup pytorch --docker/),
      });
      expect(llemContainers(setup!)).toEqual([]);
    });

    it('llem doctor with a live daemon: client, daemon and image ok; no GPU runtime is a warning with its fix', async () => {
      const made = box();
      const r = await llem(['doctor', '--json'], {
        ...made.env,
        LLEM_NVML_LIBRARY: `${made.dir}/no-libnvidia-ml.so.1`,
      });
      const [report] = jsonLines(r.stdout) as [
        { checks: { name: string; status: string; detail: string; fix?: string }[] },
      ];
      const check = (name: string) => report.checks.find((c) => c.name === name);
      expect(check('docker client')).toMatchObject({ status: 'ok' });
      expect(check('docker daemon')).toMatchObject({
        status: 'ok',
        detail: expect.stringMatching(/server \d+\.\d+/),
      });
      expect(check('docker image')).toMatchObject({
        status: 'ok',
        detail: expect.stringContaining(setup!.image),
      });
      expect(check('docker GPU runtime')).toMatchObject({
        status: 'warn',
        fix: expect.stringMatching(/nvidia/i),
      });

      const { LLEM_PYTORCH_IMAGE: _image, ...env } = made.env;
      const missing = jsonLines((await llem(['doctor', '--json'], env)).stdout)[0] as typeof report;
      expect(missing.checks.find((c) => c.name === 'docker image')).toMatchObject({
        status: 'warn',
        fix: expect.stringMatching(/llem setup pytorch --docker/),
      });
    });
  },
);
