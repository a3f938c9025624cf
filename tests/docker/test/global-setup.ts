import { execFileSync } from 'node:child_process';
import { buildLlem, harnessPython } from '@llem/test-kit';
import type { TestProject } from 'vitest/node';
import { buildImage, ensureBaseImage, type PrivateDockerd, startPrivateDockerd } from './dockerd.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The private daemon and the harness image, or why the suite is skipped. */
    docker: { host: string; image: string; sitePackages: string; python: string } | { skip: string };
  }
}

/** The harness image the tests run: the shipped Dockerfile on the local Debian base, torch mounted at run time. */
export const TEST_IMAGE = 'llem-test/backend-pytorch:ci';

let daemon: PrivateDockerd | undefined;

/**
 * Builds llem, starts a private dockerd (skips the suite, with the reason, only when it cannot
 * start), makes the base image once and builds the shipped Dockerfile on it. Teardown stops
 * exactly that daemon.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!process.env.LLEM_TEST_BIN) buildLlem();
  const log = (line: string) => process.stderr.write(`[docker tests] ${line}\n`);
  const started = await startPrivateDockerd(log);
  if ('skip' in started) {
    log(`SKIPPED: ${started.skip}`);
    project.provide('docker', { skip: started.skip });
    return async () => {};
  }
  daemon = started.daemon;
  try {
    const base = ensureBaseImage(daemon, log);
    // The real Dockerfile and build context; PYTHON_PACKAGES=base keeps the base's packages, and
    // the tests mount the harness venv's torch + transformers read-only (a 7 GB copy otherwise).
    buildImage(daemon, TEST_IMAGE, { BASE_IMAGE: base, PYTHON_PACKAGES: 'base' });
    const python = harnessPython();
    const sitePackages = execFileSync(
      python,
      ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
      {
        encoding: 'utf8',
      },
    ).trim();
    project.provide('docker', { host: daemon.host, image: TEST_IMAGE, sitePackages, python });
  } catch (error) {
    await daemon.stop();
    throw error;
  }
  return async () => {
    await daemon?.stop();
  };
}
