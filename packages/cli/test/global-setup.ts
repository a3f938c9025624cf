import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

declare module 'vitest' {
  export interface ProvidedContext {
    /** Python of the harness venv (torch + transformers). */
    python: string;
  }
}

/** Builds `llem` and the packages it uses (turbo, cached), and provisions the harness venv once. */
export default function setup(project: TestProject): void {
  // turbo: a cache hit when nothing changed (scripts/test.sh has built everything already).
  execFileSync(
    'pnpm',
    ['exec', 'turbo', 'run', 'build', '--filter=@llem/cli...', '--output-logs=errors-only'],
    {
      cwd: repoRoot,
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 600_000,
    },
  );
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
