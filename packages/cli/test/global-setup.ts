import { execFileSync } from 'node:child_process';
import { buildLlem, repoRoot } from '@llem/test-kit';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Python of the harness venv (torch + transformers). */
    python: string;
  }
}

/** Builds `llem` and the packages it uses (turbo, cached), and provisions the harness venv once. */
export default function setup(project: TestProject): void {
  // turbo: a cache hit when nothing changed (scripts/test.sh has built everything already).
  buildLlem();
  const python =
    process.env.LLEM_PYTHON ||
    execFileSync('bash', ['packages/backend-pytorch/harness/provision.sh'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 1_800_000,
    })
      .trim()
      .split('\n')
      .pop()!;
  project.provide('python', python);
}
