import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BackendError, buildSubprocessEnv } from '@llem/core';
import { DEFAULT_IMAGE, DOCKER_CONTEXT_DIR, DOCKERFILE_PATH } from '../package-info.js';
import { classifyDockerFailure } from './classify-failure.js';

export interface BuildImageOptions {
  /** Docker client binary (default $LLEM_DOCKER or `docker`). */
  docker?: string;
  /** Tag to build (default llem/backend-pytorch:<package version>). */
  image?: string;
  /** Each line of build output. */
  onProgress?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** `--build-arg`s of docker/Dockerfile: BASE_IMAGE (an image whose python has torch), PYTHON_PACKAGES (install | base). */
  buildArgs?: Readonly<Record<string, string>>;
  /** A PEM CA bundle for pip behind a TLS-inspecting proxy: the `ca-bundle` build secret, never stored in the image. */
  caBundle?: string;
}

/** Builds the harness image (`llem setup pytorch --docker`), streaming the build log. Returns the tag. */
export function buildHarnessImage(options: BuildImageOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const docker = options.docker ?? (env.LLEM_DOCKER || 'docker');
  const image = options.image ?? (env.LLEM_PYTORCH_IMAGE || DEFAULT_IMAGE);
  const argv = ['build', '-t', image, '-f', DOCKERFILE_PATH];
  for (const [key, value] of Object.entries(options.buildArgs ?? {}))
    argv.push('--build-arg', `${key}=${value}`);
  if (options.caBundle) argv.push('--secret', `id=ca-bundle,src=${options.caBundle}`);
  argv.push(DOCKER_CONTEXT_DIR);
  return new Promise((resolve, reject) => {
    const child = spawn(docker, argv, {
      // The Dockerfile uses RUN --mount (the CA bundle secret): BuildKit, also on Docker 20.10.
      env: buildSubprocessEnv({ base: env, extra: { DOCKER_BUILDKIT: '1' } }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      options.onProgress?.(line);
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.on('error', (error) => {
      reject(
        new BackendError(`Cannot run ${docker}: ${error.message}`, {
          fix: 'Install Docker Engine (https://docs.docker.com/engine/install/) or set LLEM_DOCKER.',
          cause: error,
        }),
      );
    });
    child.on('close', (code) => {
      if (code === 0) return resolve(image);
      const failure = classifyDockerFailure({
        exitCode: 125,
        stderr: tail.join('\n'),
        image,
        containerName: '',
      });
      const known = failure && failure.kind !== 'cannot-start' && failure.kind !== 'image-missing';
      reject(
        new BackendError(
          `${known ? failure.message : `docker build of ${image} failed (exit ${code}).`}\n${tail.slice(-12).join('\n')}`,
          {
            fix: known
              ? failure.fix
              : 'Read the build log above (network access to PyPI is needed for transformers; behind a TLS-inspecting proxy, pass its CA bundle as the ca-bundle build secret: see the backend-pytorch README).',
          },
        ),
      );
    });
  });
}
