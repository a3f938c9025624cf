import { DOCKER_CONTEXT_DIR, DOCKERFILE_PATH } from '../package-info.js';

export interface DockerFailure {
  /** Short machine-readable category. */
  kind:
    | 'daemon-down'
    | 'socket-permission'
    | 'image-missing'
    | 'gpu-runtime'
    | 'name-conflict'
    | 'killed'
    | 'cannot-start'
    | 'entrypoint';
  message: string;
  fix: string;
}

export interface DockerFailureInput {
  exitCode: number | null;
  stderr: string;
  image: string;
  containerName: string;
}

export function imageBuildCommand(image: string): string {
  return `docker build -t ${image} -f ${DOCKERFILE_PATH} ${DOCKER_CONTEXT_DIR}`;
}

/**
 * Explains a failed `docker run` from its exit code and the client's stderr. Narrow on purpose
 * (original bug §15.21): a pattern only counts where docker itself prints it, so a Python traceback
 * that says "not found" or "killed" inside the container is never mistaken for a Docker problem.
 * Returns null when the failure is not Docker's (the workload's own error file explains those).
 */
export function classifyDockerFailure(input: DockerFailureInput): DockerFailure | null {
  const { exitCode, stderr, image, containerName } = input;
  // Messages the docker client prints before any container exists (exit 125 or 1, depending on version).
  if (/Cannot connect to the Docker daemon/i.test(stderr)) {
    return {
      kind: 'daemon-down',
      message: 'Docker is installed but its daemon is not reachable.',
      fix: 'Start it (sudo systemctl start docker), check DOCKER_HOST / `docker context`, or run with runner: local.',
    };
  }
  if (
    /permission denied while trying to connect to the docker (daemon|API)/i.test(stderr) ||
    /docker\.sock: connect: permission denied/i.test(stderr)
  ) {
    return {
      kind: 'socket-permission',
      message: 'Permission denied on the Docker daemon socket.',
      fix: 'Add yourself to the docker group (sudo usermod -aG docker $USER, then log in again), or run with runner: local.',
    };
  }
  if (exitCode === 125) {
    if (
      /Unable to find image .* locally/i.test(stderr) ||
      /pull access denied for/i.test(stderr) ||
      /No such image:/i.test(stderr) ||
      /manifest for \S+ not found/i.test(stderr)
    ) {
      return {
        kind: 'image-missing',
        message: `The Docker image ${image} is not on this machine and could not be pulled.`,
        fix: `Build it: llem setup pytorch --docker   (or: ${imageBuildCommand(image)})`,
      };
    }
    if (
      /could not select device driver .* with capabilities: \[\[gpu\]\]/i.test(stderr) ||
      /nvidia-container-cli: /i.test(stderr) ||
      /unknown or invalid runtime name: nvidia/i.test(stderr)
    ) {
      return {
        kind: 'gpu-runtime',
        message:
          'Docker cannot give the container a GPU: the NVIDIA Container Toolkit is missing or not configured.',
        fix:
          'Install nvidia-container-toolkit, then: sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker ' +
          '(https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html)',
      };
    }
    if (/Conflict\. The container name .* is already in use/i.test(stderr)) {
      return {
        kind: 'name-conflict',
        message: `A container named ${containerName} already exists (left by an earlier run that was killed).`,
        fix: `Remove it: docker rm -f ${containerName}`,
      };
    }
    return {
      kind: 'cannot-start',
      message: 'Docker could not start the container (exit 125).',
      fix: 'Read the docker message above; `llem run --dry-run` prints the exact docker command to try by hand.',
    };
  }
  if (exitCode === 126 || exitCode === 127) {
    return {
      kind: 'entrypoint',
      message: `The image ${image} could not run the llem harness (exit ${exitCode}): it is not an llem harness image or it is broken.`,
      fix: `Rebuild it: ${imageBuildCommand(image)}`,
    };
  }
  if (exitCode === 137) {
    return {
      kind: 'killed',
      message:
        'The container was killed with SIGKILL (exit 137): the kernel OOM killer (host memory exhausted) or `docker kill`.',
      fix: 'Lower pytorch.batch_size, max_input_tokens or max_output_tokens, use a smaller model or precision, or give Docker more memory (dmesg shows OOM kills).',
    };
  }
  return null;
}
