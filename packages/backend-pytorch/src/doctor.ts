import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildSubprocessEnv, type DoctorCheck, type Readiness } from '@llem/core';
import { classifyDockerFailure, imageBuildCommand } from './docker/classify-failure.js';
import { findExecutable, runCommand } from './exec.js';
import { HARNESS_DIR } from './package-info.js';
import { userPythonProblem } from './preflight.js';
import { provisionedPythonPath } from './venv-path.js';

export interface DoctorOptions {
  docker: string;
  image: string;
  /** An explicit python (option or LLEM_PYTHON); else the provisioned venv. */
  python?: string;
  /** Where `python` was set (`LLEM_PYTHON`, `defaults.python in <file>`), for messages. */
  pythonSetting?: string;
  env: NodeJS.ProcessEnv;
}

const PY_PROBE =
  'import json, torch, transformers; print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__, "cuda": torch.cuda.is_available(), "gpus": torch.cuda.device_count()}))';

/** Docker checks then Python checks. Docker problems only warn: the local launch still works without it. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  return [...(await dockerChecks(options)), ...(await pythonChecks(options))];
}

async function dockerChecks({ docker, image, env }: DoctorOptions): Promise<DoctorCheck[]> {
  const clientEnv = buildSubprocessEnv({ base: env });
  const binary = findExecutable(docker, env.PATH);
  if (!binary) {
    return [
      {
        name: 'docker client',
        status: 'warn',
        detail: `${docker} not found on PATH (needed only for runner: docker)`,
        fix: 'Install Docker Engine: https://docs.docker.com/engine/install/ (or set LLEM_DOCKER to the client binary)',
      },
    ];
  }
  const checks: DoctorCheck[] = [];
  const version = await runCommand([binary, '--version'], { timeoutMs: 10_000, env: clientEnv });
  checks.push({
    name: 'docker client',
    status: version.code === 0 ? 'ok' : 'warn',
    detail: (version.stdout || version.stderr || binary).trim(),
  });

  const server = await runCommand([binary, 'version', '--format', '{{.Server.Version}}'], {
    timeoutMs: 15_000,
    env: clientEnv,
  });
  if (server.code !== 0) {
    const failure = classifyDockerFailure({ exitCode: 125, stderr: server.stderr, image, containerName: '' });
    checks.push({
      name: 'docker daemon',
      status: 'warn',
      detail:
        failure && failure.kind !== 'cannot-start'
          ? failure.message
          : server.stderr.trim() || server.failure || 'unreachable',
      fix: failure?.fix ?? 'Start the Docker daemon (sudo systemctl start docker).',
    });
    return checks;
  }
  checks.push({ name: 'docker daemon', status: 'ok', detail: `server ${server.stdout.trim()}` });

  const runtimes = await runCommand([binary, 'info', '--format', '{{json .Runtimes}}'], {
    timeoutMs: 15_000,
    env: clientEnv,
  });
  const hasNvidia = runtimes.code === 0 && /nvidia/i.test(runtimes.stdout);
  checks.push({
    name: 'docker GPU runtime',
    status: hasNvidia ? 'ok' : 'warn',
    detail: hasNvidia
      ? 'nvidia runtime registered'
      : 'no nvidia runtime registered with the daemon (CDI-only setups may still work)',
    ...(hasNvidia
      ? {}
      : {
          fix: 'Install nvidia-container-toolkit, then: sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker',
        }),
  });

  const inspect = await runCommand([binary, 'image', 'inspect', '--format', '{{.Id}}', image], {
    timeoutMs: 15_000,
    env: clientEnv,
  });
  checks.push(
    inspect.code === 0
      ? { name: 'docker image', status: 'ok', detail: `${image} (${inspect.stdout.trim().slice(0, 19)})` }
      : {
          name: 'docker image',
          status: 'warn',
          detail: `${image} is not built`,
          fix: `llem setup pytorch --docker   (or: ${imageBuildCommand(image)})`,
        },
  );
  return checks;
}

async function pythonChecks({ python, pythonSetting, env }: DoctorOptions): Promise<DoctorCheck[]> {
  const interpreter = python ?? provisionedPythonPath(env);
  // A python the user named must exist before anything says `ok` about it.
  const missing = python ? userPythonProblem(python, pythonSetting ?? 'LLEM_PYTHON') : null;
  if (missing) return [{ ...missing, name: 'python venv', detail: `${missing.setting}: ${missing.detail}` }];
  // provision.sh marks a finished venv; a half-built one (interrupted pip) must not pass.
  if (!python && !existsSync(join(interpreter, '..', '..', '.llem-complete'))) {
    return [
      {
        name: 'python venv',
        status: 'fail',
        detail: `no harness venv at ${interpreter}`,
        fix: 'llem setup pytorch   (creates it: torch + transformers), or set LLEM_PYTHON',
      },
    ];
  }
  const checks: DoctorCheck[] = [];
  const probe = await runCommand([interpreter, '-c', PY_PROBE], {
    timeoutMs: 120_000,
    env: buildSubprocessEnv({ base: env, extra: { PYTHONPATH: HARNESS_DIR } }),
  });
  if (probe.code !== 0) {
    if (probe.code === null)
      return [
        {
          name: 'python venv',
          status: 'fail',
          detail: `${interpreter} cannot run: ${probe.failure}`,
          fix: python
            ? `Point ${pythonSetting ?? 'LLEM_PYTHON'} at a working python, or unset it.`
            : 'Recreate the venv: llem setup pytorch',
        },
      ];
    checks.push({ name: 'python venv', status: 'ok', detail: interpreter });
    const last = (probe.stderr.trim().split('\n').pop() ?? probe.failure ?? '').trim();
    checks.push({
      name: 'torch import',
      status: 'fail',
      detail: `${interpreter} cannot import torch and transformers: ${last}`,
      fix: python
        ? 'Install torch and transformers into that python, or unset LLEM_PYTHON.'
        : 'Recreate the venv: llem setup pytorch',
    });
    return checks;
  }
  checks.push({
    name: 'python venv',
    status: 'ok',
    detail: interpreter,
  });
  const info = JSON.parse(probe.stdout.trim().split('\n').pop() ?? '{}') as {
    torch?: string;
    transformers?: string;
    cuda?: boolean;
    gpus?: number;
  };
  checks.push({
    name: 'torch import',
    status: info.cuda ? 'ok' : 'warn',
    detail: `torch ${info.torch}, transformers ${info.transformers}, ${info.cuda ? `CUDA with ${info.gpus} GPU(s)` : 'no CUDA: runs on CPU'}`,
    ...(info.cuda
      ? {}
      : { fix: 'For GPU measurements install a CUDA build of torch (or use runner: docker).' }),
  });
  return checks;
}

/**
 * Can a Docker launch of `image` start here now: a docker client on PATH, a daemon to talk to,
 * and the image present (`docker image inspect`)? For `launch: auto` and the preflight; never
 * throws, never pulls.
 */
export async function dockerReadiness({
  docker,
  image,
  env,
}: Omit<DoctorOptions, 'python'>): Promise<Readiness> {
  const binary = findExecutable(docker, env.PATH);
  if (!binary)
    return {
      ready: false,
      reason: `no docker client (${docker}) on PATH`,
      fix: 'Install Docker Engine, or set LLEM_DOCKER to the client binary.',
    };
  if (!env.DOCKER_HOST && !existsSync('/var/run/docker.sock'))
    return {
      ready: false,
      reason: 'no Docker daemon socket',
      fix: 'Start the Docker daemon, or set DOCKER_HOST.',
    };
  const inspect = await runCommand([binary, 'image', 'inspect', '--format', '{{.Id}}', image], {
    timeoutMs: 10_000,
    env: buildSubprocessEnv({ base: env }),
  });
  if (inspect.code !== 0) {
    // The daemon's own problems (down, socket permission) first: then the image is not the issue.
    const daemon = classifyDockerFailure({
      exitCode: inspect.code ?? 1,
      stderr: inspect.stderr,
      image,
      containerName: '',
    });
    if (daemon && (daemon.kind === 'daemon-down' || daemon.kind === 'socket-permission'))
      return { ready: false, reason: daemon.message, fix: daemon.fix };
    return {
      ready: false,
      reason: `image ${image} is not present`,
      fix: `llem setup pytorch --docker   (or: ${imageBuildCommand(image)})`,
    };
  }
  return { ready: true, reason: `Docker and ${image} are ready` };
}
