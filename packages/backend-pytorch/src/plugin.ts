import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BackendContext,
  BackendError,
  type BackendPlugin,
  buildSubprocessEnv,
  type CollectContext,
  type ExperimentConfig,
  type LaunchPlan,
  pickSecretEnv,
  type RunSpec,
  sanitizeExperimentId,
  writeSecretEnvFile,
} from '@llem/core';
import { collectWorkloadResult } from './collect.js';
import { type PytorchConfig, PytorchConfigSchema, validatePytorchExperiment } from './config-schema.js';
import { mapContainerInputs } from './docker/container-inputs.js';
import { buildDockerRunArgv, dockerStopCommands, type HfCacheMount } from './docker/run-argv.js';
import { dockerReadiness, runDoctor } from './doctor.js';
import { findExecutable } from './exec.js';
import {
  CONFIG_FILE,
  CONTAINER_EXCHANGE_DIR,
  CONTAINER_HF_CACHE_DIR,
  DEFAULT_IMAGE,
  HARNESS_DIR,
  PACKAGE_VERSION,
} from './package-info.js';
import { ensureHarnessPython } from './python.js';

export interface PytorchBackendOptions {
  /** Python for local launches. Default: $LLEM_PYTHON, else the harness venv (created on first use). */
  python?: string;
  /** Docker client binary. Default: $LLEM_DOCKER, else `docker` on PATH. */
  docker?: string;
  /** Image for docker launches. Default: $LLEM_PYTORCH_IMAGE, else llem/backend-pytorch:<package version>. */
  image?: string;
  /** Persistent Hugging Face cache for containers. Default: the named volume `llem-hf-cache`. */
  hfCache?: HfCacheMount;
  /** `--shm-size` for the container instead of `--ipc=host`. */
  shmSize?: string;
  /** false: no `--gpus` flag (CPU-only Docker hosts). Default true. */
  dockerGpus?: boolean;
  /** `--user` for the container. Default: the invoking user; null: the image's user. */
  containerUser?: { uid: number; gid: number } | null;
  /** Extra `docker run` flags (inserted before the image). */
  extraDockerRunArgs?: readonly string[];
  /** Seconds between the polite stop and the kill. Default 10. */
  graceSeconds?: number;
  /** Where the 0600 secrets env file goes (default: the OS temp dir, never the exchange dir). */
  secretsDir?: string;
  /** Host environment to read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Non-secret host variables a container should see as well (offline switches, mirrors). */
const CONTAINER_PASSTHROUGH = [
  'HF_HUB_OFFLINE',
  'HF_DATASETS_OFFLINE',
  'TRANSFORMERS_OFFLINE',
  'HF_ENDPOINT',
];

/** Unbuffered output (live events), no tokenizer fork warnings, CUDA numbering GPUs like NVML does. */
const WORKLOAD_ENV = {
  PYTHONUNBUFFERED: '1',
  TOKENIZERS_PARALLELISM: 'false',
  CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
} as const;

/**
 * Loads the secrets env file into os.environ, then runs the harness as `python -m llem_harness`
 * would. It lets a local launch receive HF_TOKEN from a 0600 file, like `docker --env-file`, so the
 * token is in neither argv nor the RunSpec env (which --dry-run and logs may show).
 */
const SECRET_ENV_BOOTSTRAP = [
  'import os, runpy, sys',
  'with open(sys.argv.pop(1), encoding="utf-8") as env_file:',
  '    for line in env_file:',
  '        key, sep, value = line.rstrip("\\n").partition("=")',
  '        if sep: os.environ[key] = value',
  'runpy.run_module("llem_harness", run_name="__main__", alter_sys=True)',
].join('\n');

function currentUser(): { uid: number; gid: number } | null {
  return typeof process.getuid === 'function' && typeof process.getgid === 'function'
    ? { uid: process.getuid(), gid: process.getgid() }
    : null;
}

/** Shell-like rendering of an argv, for --dry-run (argv never holds secrets). */
function renderArgv(argv: readonly string[]): string {
  return argv
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`))
    .join(' ');
}

export function createPytorchBackend(options: PytorchBackendOptions = {}): BackendPlugin<PytorchConfig> {
  const hostEnv = options.env ?? process.env;
  const dockerBinary = options.docker ?? (hostEnv.LLEM_DOCKER || 'docker');
  const image = options.image ?? (hostEnv.LLEM_PYTORCH_IMAGE || DEFAULT_IMAGE);
  const graceSeconds = options.graceSeconds ?? 10;
  const explicitPython = options.python ?? (hostEnv.LLEM_PYTHON || undefined);
  let provisioned: Promise<string> | undefined;

  /** Provisions once per plugin instance (a study prepares many experiments); retries after a failure. */
  function provisionedPython(onProgress: ((line: string) => void) | undefined): Promise<string> {
    provisioned ??= ensureHarnessPython({ env: hostEnv, ...(onProgress ? { onProgress } : {}) }).catch(
      (error: unknown) => {
        provisioned = undefined;
        throw error;
      },
    );
    return provisioned;
  }

  async function writeSecrets(experimentId: string): Promise<string | undefined> {
    const secrets = pickSecretEnv(hostEnv);
    if (Object.keys(secrets).length === 0) return undefined;
    const path = join(
      options.secretsDir ?? tmpdir(),
      `llem-secrets-${experimentId}-${randomBytes(6).toString('hex')}.env`,
    );
    await writeSecretEnvFile(path, secrets);
    return path;
  }

  async function localSpec(
    ctx: BackendContext<PytorchConfig>,
    configPath: string,
    envFile: string | undefined,
  ): Promise<RunSpec> {
    const python = explicitPython ?? (await provisionedPython(ctx.log));
    const harnessArgs = ['--config', configPath, '--out', ctx.workDir];
    return {
      argv: envFile
        ? [python, '-c', SECRET_ENV_BOOTSTRAP, envFile, ...harnessArgs]
        : [python, '-m', 'llem_harness', ...harnessArgs],
      env: buildSubprocessEnv({
        base: hostEnv,
        gpus: ctx.config.gpus,
        extra: { ...WORKLOAD_ENV, PYTHONPATH: HARNESS_DIR },
      }),
      label: `pytorch ${ctx.config.model} (local)`,
    };
  }

  function dockerSpec(
    ctx: BackendContext<PytorchConfig>,
    envFile: string | undefined,
  ): { spec: RunSpec; config: ExperimentConfig } {
    if (!findExecutable(dockerBinary, hostEnv.PATH)) {
      throw new BackendError(
        `The docker client (${dockerBinary}) was not found, but this experiment runs in Docker.`,
        {
          fix: 'Install Docker Engine (https://docs.docker.com/engine/install/), set LLEM_DOCKER, or run with launch: local.',
        },
      );
    }
    // `-v source:target` has no escaping: a ':' in a host path would split it in the wrong place.
    const hostDir = options.hfCache && 'hostDir' in options.hfCache ? options.hfCache.hostDir : undefined;
    const inputs = mapContainerInputs(ctx.config);
    for (const path of [ctx.workDir, hostDir, envFile, ...inputs.mounts.map((mount) => mount.source)]) {
      if (path?.includes(':')) {
        throw new BackendError(`Docker cannot mount ${path}: the path contains ':'.`, {
          fix: 'Rename or move it (run directory, HF cache directory, dataset or model path) to a path without ":".',
        });
      }
    }
    const gpus = ctx.config.gpus ?? allocatedGpus(hostEnv);
    const containerEnv: Record<string, string> = { ...WORKLOAD_ENV, HF_HOME: CONTAINER_HF_CACHE_DIR };
    // --gpus renumbers the chosen GPUs from 0 inside the container.
    if (gpus && options.dockerGpus !== false)
      containerEnv.CUDA_VISIBLE_DEVICES = gpus.map((_, index) => index).join(',');
    for (const key of CONTAINER_PASSTHROUGH) {
      const value = hostEnv[key];
      if (value) containerEnv[key] = value;
    }
    const argv = buildDockerRunArgv({
      docker: dockerBinary,
      image,
      experimentId: ctx.experimentId,
      configHash: ctx.configHash,
      workDir: ctx.workDir,
      gpus: options.dockerGpus === false ? 'none' : gpus,
      ...(options.shmSize ? { shmSize: options.shmSize } : {}),
      hfCache: options.hfCache ?? { volume: 'llem-hf-cache' },
      user: options.containerUser === undefined ? currentUser() : options.containerUser,
      ...(envFile ? { envFile } : {}),
      readOnlyMounts: inputs.mounts,
      // The default tag is built here (llem setup pytorch --docker); a registry image may be pulled.
      pull: image === DEFAULT_IMAGE ? 'never' : 'missing',
      env: containerEnv,
      command: ['--config', `${CONTAINER_EXCHANGE_DIR}/${CONFIG_FILE}`, '--out', CONTAINER_EXCHANGE_DIR],
      ...(options.extraDockerRunArgs ? { extraRunArgs: options.extraDockerRunArgs } : {}),
    });
    const spec: RunSpec = {
      argv,
      env: buildSubprocessEnv({ base: hostEnv }),
      stopCommands: dockerStopCommands(dockerBinary, ctx.experimentId, graceSeconds),
      label: `pytorch ${ctx.config.model} (docker ${image})`,
    };
    return { spec, config: inputs.config };
  }

  return {
    name: 'pytorch',
    version: PACKAGE_VERSION,
    configSchema: PytorchConfigSchema as BackendPlugin<PytorchConfig>['configSchema'],
    supportedPrecisions: ['fp32', 'fp16', 'bf16'],
    supportedLaunchModes: ['local', 'docker'],

    validate: validatePytorchExperiment,

    async prepare(ctx: BackendContext<PytorchConfig>): Promise<LaunchPlan> {
      sanitizeExperimentId(ctx.experimentId);
      const configPath = join(ctx.workDir, CONFIG_FILE);
      const envFile = await writeSecrets(ctx.experimentId);
      try {
        const { spec: base, config } =
          ctx.launch === 'docker'
            ? dockerSpec(ctx, envFile)
            : { spec: await localSpec(ctx, configPath, envFile), config: ctx.config };
        const document = { experiment_id: ctx.experimentId, config_hash: ctx.configHash, config };
        const spec: RunSpec = {
          ...base,
          graceMs: graceSeconds * 1000,
          ...(ctx.config.timeout_seconds ? { timeoutMs: ctx.config.timeout_seconds * 1000 } : {}),
        };
        return {
          spec,
          files: [{ path: CONFIG_FILE, content: `${JSON.stringify(document, null, 2)}\n`, mode: 0o600 }],
          description: renderArgv(spec.argv),
          ...(envFile ? { cleanupPaths: [envFile] } : {}),
        };
      } catch (error) {
        if (envFile) await rm(envFile, { force: true });
        throw error;
      }
    },

    collect(ctx: CollectContext<PytorchConfig>) {
      return collectWorkloadResult(ctx, { image });
    },

    image: (env = hostEnv) => options.image ?? (env.LLEM_PYTORCH_IMAGE || DEFAULT_IMAGE),

    dockerReadiness: (env = hostEnv) =>
      dockerReadiness({
        docker: options.docker ?? (env.LLEM_DOCKER || 'docker'),
        image: options.image ?? (env.LLEM_PYTORCH_IMAGE || DEFAULT_IMAGE),
        env,
      }),

    doctor() {
      return runDoctor({
        docker: dockerBinary,
        image,
        env: hostEnv,
        ...(explicitPython ? { python: explicitPython } : {}),
      });
    },

    estimateSeconds(config: ExperimentConfig, section: PytorchConfig): number {
      const builtin = config.model.startsWith('builtin:');
      // Rough: model load + warmup + decode steps at ~30 ms each (a 7B model on one GPU). The idle
      // baseline is the orchestrator's, counted by whoever adds up the estimate.
      const load = builtin ? 5 : 60;
      const stepSeconds = builtin ? 0.005 : 0.03;
      const warmupPrompts = config.warmup.enabled ? config.warmup.n_warmup : 0;
      const steps = Math.ceil((config.n + warmupPrompts) / section.batch_size) * config.max_output_tokens;
      return Math.round(load + steps * stepSeconds);
    },
  };
}

/** The backend with default options (reads LLEM_PYTHON / LLEM_DOCKER / LLEM_PYTORCH_IMAGE at creation). */
export const pytorchBackend: BackendPlugin<PytorchConfig> = createPytorchBackend();

/**
 * The GPUs a scheduler gave this process (Slurm sets CUDA_VISIBLE_DEVICES to the job's devices):
 * a container must get those, not `--gpus all`. Only plain indices are understood; anything else
 * (UUIDs, MIG ids) leaves the choice to Docker's default.
 */
function allocatedGpus(env: NodeJS.ProcessEnv): number[] | null {
  const list = env.CUDA_VISIBLE_DEVICES?.trim();
  if (!list || !/^\d+(,\d+)*$/.test(list)) return null;
  return list.split(',').map(Number);
}
