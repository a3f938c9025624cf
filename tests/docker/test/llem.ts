import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  binPath,
  createSandbox,
  filesUnder,
  finished,
  type LlemResult,
  repoRoot,
  type Sandbox,
} from '@llem/test-kit';
import { inject } from 'vitest';

export { finished, jsonLines, processesMentioning, type Sandbox } from '@llem/test-kit';

/** The built llem (LLEM_TEST_BIN: another build of it, e.g. one made outside the tree). */
export const llemBin = process.env.LLEM_TEST_BIN || binPath;

export function startLlem(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [llemBin, ...args], {
    env,
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function llem(args: readonly string[], env: NodeJS.ProcessEnv): Promise<LlemResult> {
  return finished(startLlem(args, env));
}

export type DockerSetup = { host: string; image: string; sitePackages: string; python: string };

/** The suite's daemon and image, or the reason it is skipped (printed by the global setup). */
export function dockerSetup(): DockerSetup | null {
  const provided = inject('docker');
  return 'skip' in provided ? null : provided;
}

export function skipReason(): string | undefined {
  const provided = inject('docker');
  return 'skip' in provided ? provided.skip : undefined;
}

/** Where Debian's python3.11 in the image looks for site packages: the harness venv's are mounted there. */
const IMAGE_SITE_PACKAGES = '/usr/local/lib/python3.11/dist-packages';

/**
 * A sandbox whose llem talks to the private daemon: DOCKER_HOST, the test image, no --gpus (no
 * GPU or NVIDIA runtime here), and LLEM_DOCKER_RUN_ARGS mounting the venv's torch + transformers
 * read-only. `extraRunArgs` go after that mount.
 */
export function dockerSandbox(setup: DockerSetup, extraRunArgs: readonly string[] = []): Sandbox {
  return createSandbox('llem-docker-', {
    XDG_CACHE_HOME: process.env.XDG_CACHE_HOME ?? `${process.env.HOME}/.cache`,
    HF_HUB_OFFLINE: '1',
    LLEM_OFFLINE: '1',
    LLEM_PYTHON: setup.python,
    DOCKER_HOST: setup.host,
    LLEM_PYTORCH_IMAGE: setup.image,
    LLEM_DOCKER_GPUS: 'none',
    LLEM_DOCKER_RUN_ARGS: JSON.stringify([
      '-v',
      `${setup.sitePackages}:${IMAGE_SITE_PACKAGES}:ro`,
      ...extraRunArgs,
    ]),
  });
}

/** The docker client on PATH (the one llem uses), against the private daemon. */
export function docker(setup: DockerSetup, args: readonly string[]): string {
  return execFileSync('docker', args, {
    env: { ...process.env, DOCKER_HOST: setup.host },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** Names of llem's containers (label llem.experiment), running or not (`docker ps -a`). */
export function llemContainers(setup: DockerSetup): string[] {
  return docker(setup, ['ps', '-a', '--filter', 'label=llem.experiment', '--format', '{{.Names}}'])
    .split('\n')
    .filter(Boolean);
}

/** Polls until `done()` holds (or 60 s pass); the assertion that follows says what was expected. */
export async function until(done: () => boolean, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
}

/** Waits for a running llem container and returns its name. */
export async function runningContainer(setup: DockerSetup): Promise<string> {
  let names: string[] = [];
  await until(() => {
    names = docker(setup, ['ps', '--filter', 'label=llem.experiment', '--format', '{{.Names}}'])
      .split('\n')
      .filter(Boolean);
    return names.length > 0;
  }, 120_000);
  if (names.length !== 1)
    throw new Error(`expected one running llem container, found: ${names.join(', ') || 'none'}`);
  return names[0]!;
}

/** Docker's events for one llem container since `since` (unix seconds), as `action signal` words. */
export function containerEvents(setup: DockerSetup, since: number, name: string): string[] {
  const result = spawnSync(
    'docker',
    [
      'events',
      '--since',
      String(since),
      '--until',
      String(Math.ceil(Date.now() / 1000) + 1),
      '--filter',
      'type=container',
      '--filter',
      `container=${name}`,
      '--format',
      '{{.Action}} {{index .Actor.Attributes "signal"}}',
    ],
    { env: { ...process.env, DOCKER_HOST: setup.host }, encoding: 'utf8', timeout: 30_000 },
  );
  return result.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

export interface StoredResult {
  experiment_id: string;
  backend: { name: string; launch: string };
  workload: { requests: number; input_tokens: number; output_tokens: number; total_tokens: number };
  environment: { container: boolean; executable: string; device: string };
}

/** Every result.json under a results dir. */
export function storedResults(resultsDir: string): StoredResult[] {
  return filesUnder(resultsDir)
    .filter((path) => path.endsWith('result.json'))
    .map((path) => JSON.parse(readFileSync(join(resultsDir, path), 'utf8')) as StoredResult);
}

/** Every file under a dir, as text, for "the secret is nowhere" checks. */
export function allText(dir: string): string {
  return filesUnder(dir)
    .map((path) => {
      try {
        return readFileSync(join(dir, path), 'utf8');
      } catch {
        return ''; // a directory
      }
    })
    .join('\n');
}
