import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSandbox, filesUnder, tinyPytorchYaml } from '@llem/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BACKEND_DIR,
  buildImage,
  docker,
  ensureBaseImage,
  type PrivateDockerd,
  startPrivateDockerd,
} from '../test/dockerd.js';
import { llem } from '../test/llem.js';

/**
 * The shipped Dockerfile, built for real with its default PYTHON_PACKAGES=install: pip installs
 * the harness requirements into a base that has torch, with the host's CA bundle as the
 * `ca-bundle` build secret (this network inspects TLS, like many corporate ones). The base is the
 * local Debian image plus PyPI's torch (no registry image is reachable). Prints the build time and
 * the image size, then runs the quickstart model in the image with nothing mounted but the run dir.
 */

const log = (line: string) => process.stderr.write(`[docker image] ${line}\n`);
const TORCH_BASE = 'llem-test/torch-base:ci';
const IMAGE = 'llem-test/backend-pytorch:full';

/** The CA bundle this machine's pip trusts (PIP_CERT, SSL_CERT_FILE or Debian's bundle). */
function hostCaBundle(): string | null {
  for (const path of [
    process.env.PIP_CERT,
    process.env.SSL_CERT_FILE,
    '/etc/ssl/certs/ca-certificates.crt',
  ]) {
    if (path && existsSync(path)) return path;
  }
  return null;
}

function torchRequirement(): string {
  const line = readFileSync(join(BACKEND_DIR, 'harness/requirements.txt'), 'utf8')
    .split('\n')
    .find((text) => /^torch==/.test(text));
  if (!line) throw new Error('harness/requirements.txt pins no torch==');
  return line.trim();
}

let daemon: PrivateDockerd | undefined;
let skip: string | undefined;

beforeAll(async () => {
  const started = await startPrivateDockerd(log);
  if ('skip' in started) {
    skip = started.skip;
    log(`SKIPPED: ${skip}`);
    return;
  }
  daemon = started.daemon;
});

afterAll(async () => {
  // Several GB: kept only when asked (LLEM_KEEP_DOCKER_IMAGES=1); the small Debian base stays cached.
  if (daemon && process.env.LLEM_KEEP_DOCKER_IMAGES !== '1') {
    spawnSync(daemon.builder, ['image', 'rm', '-f', IMAGE, TORCH_BASE], {
      env: { ...process.env, DOCKER_HOST: daemon.host },
      stdio: 'ignore',
    });
    spawnSync(daemon.builder, ['builder', 'prune', '-af'], {
      env: { ...process.env, DOCKER_HOST: daemon.host },
      stdio: 'ignore',
    });
  }
  await daemon?.stop();
});

describe('the shipped Dockerfile, built for real', () => {
  it('builds on a base with torch (pip with the CA bundle secret), and the image measures the quickstart model', async (context) => {
    if (!daemon) return context.skip(skip);
    const base = ensureBaseImage(daemon, log);
    const ca = hostCaBundle();
    const secret = ca ? ['--secret', `id=ca-bundle,src=${ca}`] : [];

    // A base of one's own: Debian's python + PyPI's torch (what pytorch/pytorch is, elsewhere).
    const context_ = mkdtempSync(join(tmpdir(), 'llem-torch-base-'));
    const baseStarted = Date.now();
    try {
      const dockerfile = `FROM ${base}
ENV PIP_BREAK_SYSTEM_PACKAGES=1
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-pip >/dev/null && rm -rf /var/lib/apt/lists/*
RUN --mount=type=secret,id=ca-bundle,required=false \\
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \\
 && python -m pip install --no-cache-dir --disable-pip-version-check -q ${torchRequirement()}
`;
      execFileSync(
        daemon.builder,
        [
          'build',
          '--network',
          'host',
          '--progress',
          'plain',
          '-t',
          TORCH_BASE,
          ...secret,
          '-f',
          '-',
          context_,
        ],
        {
          input: dockerfile,
          env: { ...process.env, DOCKER_HOST: daemon.host, DOCKER_BUILDKIT: '1' },
          stdio: ['pipe', 'ignore', 'pipe'],
          timeout: 3_600_000,
          maxBuffer: 256 * 1024 * 1024,
        },
      );
    } finally {
      rmSync(context_, { recursive: true, force: true });
    }
    const baseSeconds = (Date.now() - baseStarted) / 1000;

    const started = Date.now();
    buildImage(daemon, IMAGE, { BASE_IMAGE: TORCH_BASE }, secret);
    const buildSeconds = (Date.now() - started) / 1000;
    const size = Number(docker(daemon, ['image', 'inspect', '--format', '{{.Size}}', IMAGE]).trim());
    const baseSize = Number(docker(daemon, ['image', 'inspect', '--format', '{{.Size}}', TORCH_BASE]).trim());
    log(
      `torch base ${TORCH_BASE}: ${baseSeconds.toFixed(0)} s, ${(baseSize / 1e9).toFixed(2)} GB; ` +
        `docker/Dockerfile (PYTHON_PACKAGES=install) on it: ${buildSeconds.toFixed(0)} s, image ${(size / 1e9).toFixed(2)} GB`,
    );

    // The secret was used, never stored: no layer has it, and no history line names its content.
    const inImage = spawnSync(
      daemon.builder,
      ['run', '--rm', '--entrypoint', 'sh', IMAGE, '-c', 'ls /run/secrets 2>/dev/null | wc -l'],
      { env: { ...process.env, DOCKER_HOST: daemon.host }, encoding: 'utf8' },
    );
    expect(inImage.stdout.trim()).toBe('0');
    expect(docker(daemon, ['history', '--no-trunc', IMAGE])).not.toContain('BEGIN CERTIFICATE');

    // What users get: the image alone (no mounted packages), through the built llem.
    const box = createSandbox('llem-docker-image-', {
      HF_HUB_OFFLINE: '1',
      LLEM_OFFLINE: '1',
      DOCKER_HOST: daemon.host,
      LLEM_PYTORCH_IMAGE: IMAGE,
      LLEM_DOCKER_GPUS: 'none',
    });
    try {
      const path = box.write('quickstart.yaml', tinyPytorchYaml('launch: docker\n'));
      const r = await llem(['run', path], box.env);
      expect(r.code, r.stderr).toBe(0);
      const resultFile = filesUnder(box.resultsDir).find((file) => file.endsWith('result.json'))!;
      const result = JSON.parse(readFileSync(join(box.resultsDir, resultFile), 'utf8')) as {
        backend: { launch: string };
        workload: { input_tokens: number; output_tokens: number };
        environment: { executable: string; torch: string };
      };
      expect(result.backend.launch).toBe('docker');
      expect(result.workload).toMatchObject({ input_tokens: 64, output_tokens: 32 });
      expect(result.environment.torch.startsWith(torchRequirement().slice('torch=='.length))).toBe(true);
    } finally {
      box.remove();
    }
  });
});
