import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONTAINER_EXCHANGE_DIR,
  CONTAINER_HF_CACHE_DIR,
  DOCKER_CONTEXT_DIR,
  DOCKERFILE_PATH,
  HARNESS_DIR,
} from '../src/index.js';

/** No daemon here to build the image, so keep the Dockerfile in step with the code that runs it. */
describe('docker/Dockerfile', () => {
  const dockerfile = readFileSync(DOCKERFILE_PATH, 'utf8');

  it('copies files that exist in the build context', () => {
    const sources = [...dockerfile.matchAll(/^COPY\s+(\S+)\s+\S+$/gm)].map((match) => match[1]!);
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(existsSync(join(DOCKER_CONTEXT_DIR, source)), source).toBe(true);
  });

  it('uses a base whose torch matches the harness pin', () => {
    const base = /^ARG BASE_IMAGE=pytorch\/pytorch:(\d+\.\d+\.\d+)-cuda/m.exec(dockerfile)?.[1];
    const pin = /^torch==(\S+)$/m.exec(readFileSync(join(HARNESS_DIR, 'requirements.txt'), 'utf8'))?.[1];
    expect(base).toBeDefined();
    expect(base).toBe(pin);
  });

  it('prepares the mount points the launcher uses, writable by any --user, and runs the harness module', () => {
    expect(dockerfile).toContain(`mkdir -p ${CONTAINER_EXCHANGE_DIR} ${CONTAINER_HF_CACHE_DIR}`);
    expect(dockerfile).toContain(`chmod 1777 ${CONTAINER_EXCHANGE_DIR} ${CONTAINER_HF_CACHE_DIR}`);
    expect(dockerfile).toContain(`HF_HOME=${CONTAINER_HF_CACHE_DIR}`);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["python", "-m", "llem_harness"\]$/m);
  });
});
