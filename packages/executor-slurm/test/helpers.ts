import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PluginRegistry, type StudyPlan } from '@llem/core';
import { expandStudy } from '@llem/core/orchestration';
import { createFsStateStore } from '@llem/state-fs';
import { afterAll, inject } from 'vitest';
import { parseJobShape, type SlurmJobShapeInput, type SlurmStudyOptions } from '../src/index.js';

// Every slurm client (sbatch, squeue, ...) spawned by the code under test reads this.
process.env.SLURM_CONF = inject('slurmConf');

export const echoPlugin = fileURLToPath(
  new URL('../../../examples/plugin-echo/src/index.ts', import.meta.url),
);
/** The built echo plugin, as the jobs load it (global setup builds it). */
export const echoPluginBuilt = fileURLToPath(
  new URL('../../../examples/plugin-echo/dist/index.js', import.meta.url),
);
const fixture = fileURLToPath(new URL('./fixtures/exec-job.ts', import.meta.url));
/** `llem exec` for library-level tests: the fixture, over the built packages (global setup builds them). */
export const fixtureLlem = [process.execPath, '--import', 'tsx', fixture];

export function scratch(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `llem-slurm-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function echoStudy(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    model: 'echo-model',
    backend: 'echo',
    launch: 'local',
    n: 2,
    baseline: { enabled: false },
    energy: { enabled: false },
    echo: { seconds_per_request: 0.05 },
    sweep: { 'echo.output_tokens_per_request': [1, 2, 3, 4, 5, 6] },
    cycles: 2,
    ...extra,
  };
}

export async function planOf(raw: Record<string, unknown>): Promise<StudyPlan> {
  const registry = new PluginRegistry({ modules: [echoPlugin] });
  const backends = await registry.backendCatalog(['echo']);
  return expandStudy(raw, { backends });
}

/** Options for runStudyOnSlurm over an fs store in `dir`, jobs run by the fixture. */
export async function studyOptions(dir: string, shape: SlurmJobShapeInput = {}): Promise<SlurmStudyOptions> {
  const stateDir = join(dir, 'state');
  return {
    store: await createFsStateStore({ dir: stateDir }),
    storeLocation: { name: 'fs', dir: stateDir },
    resultsDir: join(dir, 'results'),
    shape: parseJobShape({ poll_seconds: 0.3, ...shape }),
    llemCommand: fixtureLlem,
    plugins: [echoPluginBuilt],
    cancelGraceMs: 3_000,
  };
}

export function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value));
}
