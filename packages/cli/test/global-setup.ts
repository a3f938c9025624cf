import { buildLlem, harnessPython } from '@llem/test-kit';
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
  const python = harnessPython();
  project.provide('python', python);
}
