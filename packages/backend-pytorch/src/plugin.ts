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
  isInterruptedError,
  isLlemError,
  type LaunchPlan,
  messageOf,
  type PreflightContext,
  pickSecretEnv,
  type RunSpec,
  sanitizeExperimentId,
  writeSecretEnvFile,
} from '@llem/core';
import { collectWorkloadResult } from './collect.js';
import { type PytorchConfig, PytorchConfigSchema, validatePytorchExperiment } from './config-schema.js';
import { mapContainerInputs } from './docker/container-inputs.js';
import { type DockerLaunchSettings, dockerLaunchSettings } from './docker/launch-settings.js';
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
import {
  HARNESS_PASSTHROUGH,
  type PreflightPython,
  pytorchPreflight,
  userPythonProblem,
  venvComplete,
} from './preflight.js';
import { ensureHarnessPython } from './python.js';
import { SECRET_ENV_BOOTSTRAP } from './secrets-bootstrap.js';
import { provisionedPythonPath } from './venv-path.js';

export interface PytorchBackendOptions {
  /** Python for local launches. Default: $LLEM_PYTHON, else the harness venv (created on first use). */
  python?: string;
  /**
   * Where `python` was set, for messages (`LLEM_PYTHON`, `defaults.python in <file>`); null: `python`
   * is the harness venv's (a dry run names it without making it). Default: `LLEM_PYTHON` when that
   * chose it, else `the python option`.
   */
  pythonSetting?: string | null;
  /** Docker client binary. Default: $LLEM_DOCKER, else `docker` on PATH. */
  docker?: string;
  /** Image for docker launches. Default: $LLEM_PYTORCH_IMAGE, else llem/backend-pytorch:<package version>. */
  image?: string;
  /** Persistent Hugging Face cache for containers. Default: the named volume `llem-hf-cache`. */
  hfCache?: HfCacheMount;
  /** `--shm-size` for the container instead of `--ipc=host`. */
  shmSize?: string;
  /** false: no `--gpus` flag (CPU-only Docker hosts). Default: $LLEM_DOCKER_GPUS (`none` = false), else true. */
  dockerGpus?: boolean;
  /** `--user` for the container. Default: the invoking user; null: the image's user. */
  containerUser?: { uid: number; gid: number } | null;
  /** Extra `docker run` flags (inserted before the image). Default: $LLEM_DOCKER_RUN_ARGS (a JSON array). */
  extraDockerRunArgs?: readonly string[];
  /** Seconds between the polite stop and the kill. Default 10. */
  graceSeconds?: number;
  /** Where the 0600 secrets env file goes (default: the OS temp dir, never the exchange dir). In a container it is mounted read-only. */
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
  const pythonSetting =
    options.pythonSetting !== undefined
      ? options.pythonSetting
      : options.python
        ? 'the python option'
        : hostEnv.LLEM_PYTHON
          ? 'LLEM_PYTHON'
          : null;
  let provisioned: Promise<string> | undefined;

  /** The python the preflight probes: the user's (checked to exist), else the venv (made unless a dry run). */
  async function preflightPython(ctx: PreflightContext): Promise<PreflightPython> {
    if (explicitPython && pythonSetting !== null) {
      const problem = userPythonProblem(explicitPython, pythonSetting);
      return problem
        ? { path: null, setting: pythonSetting, problem }
        : { path: explicitPython, setting: pythonSetting };
    }
    if (ctx.dryRun) {
      const venv = explicitPython ?? provisionedPythonPath(hostEnv);
      if (venvComplete(venv)) return { path: venv, setting: null };
      return {
        path: null,
        setting: null,
        problem: {
          name: 'python',
          status: 'warn',
          detail: `no harness venv yet at ${venv}: the run creates it first (torch + transformers, minutes)`,
          fix: 'llem setup pytorch   (makes it now), or set LLEM_PYTHON',
        },
      };
    }
    try {
      return { path: await provisionedPython(ctx.log, ctx.signal), setting: null };
    } catch (error) {
      if (isInterruptedError(error)) throw error;
      return {
        path: null,
        setting: null,
        problem: {
          name: 'python',
          status: 'fail',
          setting: 'the harness venv (llem setup pytorch)',
          detail: messageOf(error).split('\n')[0] ?? 'the harness venv could not be made',
          fix: (isLlemError(error) && error.fix) || 'Run llem setup pytorch, or set LLEM_PYTHON.',
        },
      };
    }
  }

  /** Provisions once per plugin instance (a study prepares many experiments); retries after a failure. */
  function provisionedPython(
    onProgress: ((line: string) => void) | undefined,
    signal?: AbortSignal,
  ): Promise<string> {
    provisioned ??= ensureHarnessPython({
      env: hostEnv,
      ...(onProgress ? { onProgress } : {}),
      ...(signal ? { signal } : {}),
    }).catch((error: unknown) => {
      provisioned = undefined;
      throw error;
    });
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

  /** The docker launch's own settings: the options, else LLEM_DOCKER_RUN_ARGS / LLEM_DOCKER_GPUS. */
  function dockerLaunch(): DockerLaunchSettings {
    const fromEnv =
      options.extraDockerRunArgs && options.dockerGpus !== undefined
        ? undefined
        : dockerLaunchSettings(hostEnv);
    return {
      runArgs: [...(options.extraDockerRunArgs ?? fromEnv?.runArgs ?? [])],
      gpus: options.dockerGpus ?? fromEnv?.gpus ?? true,
    };
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
        passthrough: HARNESS_PASSTHROUGH,
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
    const launch = dockerLaunch();
    const gpus = ctx.config.gpus ?? allocatedGpus(hostEnv);
    const containerEnv: Record<string, string> = { ...WORKLOAD_ENV, HF_HOME: CONTAINER_HF_CACHE_DIR };
    // --gpus renumbers the chosen GPUs from 0 inside the container.
    if (gpus && launch.gpus) containerEnv.CUDA_VISIBLE_DEVICES = gpus.map((_, index) => index).join(',');
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
      gpus: launch.gpus ? gpus : 'none',
      ...(options.shmSize ? { shmSize: options.shmSize } : {}),
      hfCache: options.hfCache ?? { volume: 'llem-hf-cache' },
      user: options.containerUser === undefined ? currentUser() : options.containerUser,
      ...(envFile ? { secretsFile: envFile } : {}),
      readOnlyMounts: inputs.mounts,
      // The default tag is built here (llem setup pytorch --docker); a registry image may be pulled.
      pull: image === DEFAULT_IMAGE ? 'never' : 'missing',
      env: containerEnv,
      command: ['--config', `${CONTAINER_EXCHANGE_DIR}/${CONFIG_FILE}`, '--out', CONTAINER_EXCHANGE_DIR],
      extraRunArgs: launch.runArgs,
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

    preflight(experiments, ctx) {
      return pytorchPreflight(experiments, ctx, () => preflightPython(ctx));
    },

    doctor() {
      return runDoctor({
        docker: dockerBinary,
        image,
        env: hostEnv,
        ...(explicitPython ? { python: explicitPython } : {}),
        ...(pythonSetting ? { pythonSetting } : {}),
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
