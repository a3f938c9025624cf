import { ConfigError } from '@llem/core';

/** How docker launches are shaped on this host, beyond what the experiment config says. */
export interface DockerLaunchSettings {
  /** Extra `docker run` flags, inserted before the image (LLEM_DOCKER_RUN_ARGS). */
  runArgs: string[];
  /** false: no `--gpus` flag, for Docker hosts without GPUs (LLEM_DOCKER_GPUS=none). */
  gpus: boolean;
}

const RUN_ARGS_EXAMPLE = `LLEM_DOCKER_RUN_ARGS='["--memory", "32g", "-v", "/data/models:/models:ro"]'`;

/** Flags llem sets itself and must keep: it stops the container by name and reads its output. */
const OWN_FLAGS = new Set(['--name', '-d', '--detach', '--rm']);

/**
 * LLEM_DOCKER_RUN_ARGS (a JSON array of strings: extra `docker run` flags, such as a mount or a
 * memory limit) and LLEM_DOCKER_GPUS (`none` on a Docker host without GPUs). A bad value is a
 * ConfigError that names the variable and shows a good one. JSON, not a shell string: a path with
 * spaces needs no quoting rules, and nothing is ever passed through a shell.
 */
export function dockerLaunchSettings(env: NodeJS.ProcessEnv): DockerLaunchSettings {
  return { runArgs: parseRunArgs(env.LLEM_DOCKER_RUN_ARGS), gpus: parseGpus(env.LLEM_DOCKER_GPUS) };
}

function parseRunArgs(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`LLEM_DOCKER_RUN_ARGS: '${text}' is not JSON.`, {
      fix: `Give a JSON array of docker run flags, e.g. ${RUN_ARGS_EXAMPLE}`,
    });
  }
  if (!Array.isArray(value) || !value.every((arg) => typeof arg === 'string')) {
    throw new ConfigError('LLEM_DOCKER_RUN_ARGS: must be a JSON array of strings.', {
      fix: `Give a JSON array of docker run flags, e.g. ${RUN_ARGS_EXAMPLE}`,
    });
  }
  const own = value.find((arg) => OWN_FLAGS.has(arg.split('=')[0]!));
  if (own) {
    throw new ConfigError(
      `LLEM_DOCKER_RUN_ARGS: ${own} is set by llem itself (it names, attaches to and removes each container).`,
      { fix: `Remove ${own} from LLEM_DOCKER_RUN_ARGS.` },
    );
  }
  return value;
}

function parseGpus(text: string | undefined): boolean {
  if (text === undefined || text === '' || text === 'auto') return true;
  if (text === 'none') return false;
  throw new ConfigError(`LLEM_DOCKER_GPUS: '${text}' is not one of auto, none.`, {
    fix: 'Use LLEM_DOCKER_GPUS=none on a Docker host without GPUs, or unset it (auto: the GPUs of gpus: or of the allocation, else all).',
  });
}
