import { describe, expect, it } from 'vitest';
import { classifyDockerFailure } from '../src/index.js';

const image = 'llem/backend-pytorch:0.1.0';
const classify = (exitCode: number | null, stderr: string) =>
  classifyDockerFailure({ exitCode, stderr, image, containerName: 'llem-exp' })?.kind ?? null;

describe('classifyDockerFailure', () => {
  it('recognises what the docker client and daemon print', () => {
    expect(
      classify(
        125,
        'docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
      ),
    ).toBe('daemon-down');
    expect(
      classify(
        126,
        'docker: permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Head "http://%2Fvar%2Frun%2Fdocker.sock/_ping": dial unix /var/run/docker.sock: connect: permission denied.',
      ),
    ).toBe('socket-permission');
    expect(
      classify(
        125,
        "Unable to find image 'llem/backend-pytorch:0.1.0' locally\ndocker: Error response from daemon: pull access denied for llem/backend-pytorch, repository does not exist or may require 'docker login'.",
      ),
    ).toBe('image-missing');
    expect(
      classify(
        125,
        'docker: Error response from daemon: could not select device driver "" with capabilities: [[gpu]].',
      ),
    ).toBe('gpu-runtime');
    expect(
      classify(
        125,
        'docker: Error response from daemon: failed to create task for container: OCI runtime create failed: nvidia-container-cli: initialization error: nvml error: driver not loaded: unknown.',
      ),
    ).toBe('gpu-runtime');
    expect(
      classify(
        125,
        'docker: Error response from daemon: Conflict. The container name "/llem-exp" is already in use by container "abc".',
      ),
    ).toBe('name-conflict');
    expect(
      classify(
        125,
        'docker: Error response from daemon: invalid mount config for type "bind": bind source path does not exist.',
      ),
    ).toBe('cannot-start');
    expect(classify(137, '')).toBe('killed');
    expect(classify(127, 'exec: "python": executable file not found in $PATH')).toBe('entrypoint');
  });

  it('leaves workload failures alone, even when their text sounds like docker (original bug 15.21)', () => {
    expect(
      classify(
        1,
        "OSError: model 'foo/bar' not found\nRuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB",
      ),
    ).toBeNull();
    expect(classify(1, 'Process killed: bloom-560m did not fit in the room')).toBeNull();
    expect(classify(2, 'HarnessError: dataset file not found (no such image: no)')).toBeNull();
    expect(classify(0, '')).toBeNull();
  });

  it('gives every classified failure a fix naming a concrete action', () => {
    const failure = classifyDockerFailure({
      exitCode: 125,
      stderr: "Unable to find image 'x' locally\nmanifest for x not found",
      image,
      containerName: 'llem-exp',
    });
    expect(failure?.fix).toMatch(
      /llem setup pytorch --docker|docker build -t llem\/backend-pytorch:0\.1\.0 -f \S+Dockerfile/,
    );
    expect(
      classifyDockerFailure({
        exitCode: 125,
        stderr: 'Conflict. The container name "/llem-exp" is already in use',
        image,
        containerName: 'llem-exp',
      })?.fix,
    ).toBe('Remove it: docker rm -f llem-exp');
  });
});
