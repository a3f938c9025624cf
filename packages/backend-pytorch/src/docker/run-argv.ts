import { CONTAINER_EXCHANGE_DIR, CONTAINER_HF_CACHE_DIR, CONTAINER_SECRETS_FILE } from '../package-info.js';
import { SECRET_ENV_BOOTSTRAP } from '../secrets-bootstrap.js';

/** Where the container's Hugging Face cache lives on the host: a named volume or a host directory. */
export type HfCacheMount = { volume: string } | { hostDir: string };

export interface DockerRunArgvInput {
  /** The docker client binary. */
  docker: string;
  image: string;
  experimentId: string;
  configHash: string;
  /** The run directory on the host, mounted read-write at CONTAINER_EXCHANGE_DIR. */
  workDir: string;
  /** GPU indices from the config; null = every GPU; 'none' = no --gpus flag (CPU-only hosts, tests). */
  gpus: readonly number[] | null | 'none';
  /** `--shm-size` instead of `--ipc=host` (for hosts where sharing the host IPC namespace is not allowed). */
  shmSize?: string;
  hfCache: HfCacheMount;
  /** `--user uid:gid`, so files in the exchange dir belong to the invoking user. null = the image's user. */
  user: { uid: number; gid: number } | null;
  /**
   * A 0600 file of secret `KEY=VALUE` lines (HF_TOKEN); never put secrets in `env`. It is mounted
   * read-only and loaded by the harness's python, not passed with `--env-file`: `docker inspect`
   * shows every variable given by `-e` or `--env-file`, in clear.
   */
  secretsFile?: string;
  /** Host files or directories the workload reads, mounted read-only. */
  readOnlyMounts?: ReadonlyArray<{ source: string; target: string }>;
  /** `--pull` policy; `never` for a locally built image, so a missing image is never fetched from a registry. */
  pull?: 'never' | 'missing' | 'always';
  /** Non-secret variables for the container (`-e KEY=VALUE`). */
  env: Readonly<Record<string, string>>;
  /** The harness's arguments: after the image, for its ENTRYPOINT (python -m llem_harness), or after the secrets bootstrap. */
  command: readonly string[];
  /** Extra `docker run` flags from the user, inserted before the image. */
  extraRunArgs?: readonly string[];
}

/** The container name for an experiment: known in advance, so llem can always stop it by name. */
export function containerName(experimentId: string): string {
  return `llem-${experimentId}`;
}

/**
 * `docker run` argv for one workload. Each flag fixes a bug of the original launcher (spec §15.20):
 * --rm       no container left behind after a normal exit;
 * --init     a real PID 1 forwards SIGTERM to python and reaps children, so `docker stop` is prompt;
 * --name     `docker stop/kill <name>` reaches the container even when the client is gone (a
 *            signal to the `docker run` client, SIGKILL above all, does not reliably reach it);
 * --label    `docker ps --filter label=llem.experiment=<id>` finds strays;
 * --pull never  the default tag is built locally: never fetch a same-named image from a registry;
 * --ipc=host PyTorch DataLoader/NCCL need more than Docker's 64 MB /dev/shm;
 * --user     files written to the exchange dir belong to the invoking user, not root;
 * secrets   HF_TOKEN reaches the container as a read-only file that python loads before the
 *            harness (--entrypoint python -c <bootstrap>): not in argv (visible in `ps`), logs, or
 *            `docker inspect` (which would show an --env-file's variables).
 */
export function buildDockerRunArgv(input: DockerRunArgvInput): string[] {
  const argv = [input.docker, 'run', '--rm', '--init', '--name', containerName(input.experimentId)];
  if (input.pull) argv.push('--pull', input.pull);
  argv.push(
    '--label',
    `llem.experiment=${input.experimentId}`,
    '--label',
    `llem.config-hash=${input.configHash}`,
  );
  if (input.gpus === null) argv.push('--gpus', 'all');
  // The quotes are part of the value: unquoted, docker's CSV parser reads "device=0,1" as device 0 plus count=1.
  else if (input.gpus !== 'none') argv.push('--gpus', `"device=${input.gpus.join(',')}"`);
  if (input.shmSize) argv.push('--shm-size', input.shmSize);
  else argv.push('--ipc=host');
  if (input.user) argv.push('--user', `${input.user.uid}:${input.user.gid}`);
  argv.push('-v', `${input.workDir}:${CONTAINER_EXCHANGE_DIR}`);
  const cacheSource = 'volume' in input.hfCache ? input.hfCache.volume : input.hfCache.hostDir;
  argv.push('-v', `${cacheSource}:${CONTAINER_HF_CACHE_DIR}`);
  for (const mount of input.readOnlyMounts ?? []) argv.push('-v', `${mount.source}:${mount.target}:ro`);
  if (input.secretsFile) argv.push('-v', `${input.secretsFile}:${CONTAINER_SECRETS_FILE}:ro`);
  for (const [key, value] of Object.entries(input.env)) argv.push('-e', `${key}=${value}`);
  if (input.secretsFile) argv.push('--entrypoint', 'python');
  argv.push(...(input.extraRunArgs ?? []));
  argv.push(input.image);
  if (input.secretsFile) argv.push('-c', SECRET_ENV_BOOTSTRAP, CONTAINER_SECRETS_FILE);
  argv.push(...input.command);
  return argv;
}

/** Stop commands for RunSpec.stopCommands: `docker stop -t <grace>` first, `docker kill` if that is not enough. */
export function dockerStopCommands(docker: string, experimentId: string, graceSeconds: number) {
  const name = containerName(experimentId);
  return {
    graceful: [docker, 'stop', '-t', String(Math.max(0, Math.ceil(graceSeconds))), name],
    force: [docker, 'kill', name],
  };
}
