import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { BackendCatalog, LaunchMode, StudyPlan } from '@llem/core';
import type { Settings } from './settings.js';

/**
 * `--runner auto` (the default): Docker when it is ready, else a local process group.
 * "Ready" means all of: no experiment asks for a runner itself, every backend of the plan can
 * launch in Docker, a docker client is on PATH, a daemon socket is configured, and the backend's
 * image is present (`docker image inspect`). Anything less runs locally, without a failed first
 * experiment. An explicit `--runner local|docker` (or LLEM_RUNNER, defaults.runner) always wins.
 * Returns undefined to let each experiment's own `runner:` field (or its backend) decide.
 */

/** Image each built-in backend launches; a backend not listed here is not auto-dockerised. */
const BACKEND_IMAGES: Record<string, (env: NodeJS.ProcessEnv) => Promise<string>> = {
  pytorch: async (env) => env.LLEM_PYTORCH_IMAGE || (await import('@llem/backend-pytorch')).DEFAULT_IMAGE,
};

export interface LaunchDecision {
  launch: LaunchMode | undefined;
  /** Why, for --verbose and --dry-run. */
  reason: string;
}

function run(argv: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { env, timeout: timeoutMs }, (error) => {
      resolve(error ? (typeof error.code === 'number' ? error.code : null) : 0);
    });
  });
}

export async function resolveLaunch(
  settings: Pick<Settings, 'runner'>,
  plan: StudyPlan,
  backends: BackendCatalog,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LaunchDecision> {
  const choice = settings.runner.value;
  if (choice !== 'auto') return { launch: choice, reason: `runner ${choice} (${settings.runner.source})` };
  if (plan.experiments.some((e) => e.config.runner === 'local' || e.config.runner === 'docker')) {
    return { launch: undefined, reason: 'the config chooses the runner' };
  }
  const names = [...new Set(plan.experiments.map((e) => e.config.backend))];
  if (
    !names.every(
      (name) => backends.get(name)?.supportedLaunchModes?.includes('docker') && name in BACKEND_IMAGES,
    )
  ) {
    return { launch: undefined, reason: 'auto: a backend of this run has no Docker launch' };
  }
  const { resolveExecutable } = await import('@llem/runner-node');
  let docker: string;
  try {
    docker = resolveExecutable(env.LLEM_DOCKER || 'docker', { PATH: env.PATH ?? '' }, process.cwd());
  } catch {
    return { launch: 'local', reason: 'auto: no docker client on PATH, running locally' };
  }
  if (!env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) {
    return { launch: 'local', reason: 'auto: no Docker daemon socket, running locally' };
  }
  for (const name of names) {
    const image = await BACKEND_IMAGES[name]!(env);
    if ((await run([docker, 'image', 'inspect', '--format', '{{.Id}}', image], env, 10_000)) !== 0) {
      return {
        launch: 'local',
        reason: `auto: image ${image} is not present (or the daemon is down), running locally`,
      };
    }
  }
  return { launch: 'docker', reason: 'auto: Docker and the backend image are ready' };
}
