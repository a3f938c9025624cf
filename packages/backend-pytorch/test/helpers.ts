import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BackendCatalog,
  type BackendContext,
  type BackendPlugin,
  type LaunchMode,
  type ProtocolEvent,
  resolveExperimentConfig,
  resolveInside,
} from '@llem/core';
import { ProcessGroupRunner } from '@llem/runner-node';
import { HARNESS_DIR, type PytorchConfig, pytorchSection } from '../src/index.js';

export const FAKE_DOCKER = fileURLToPath(new URL('./fixtures/fake-docker.mjs', import.meta.url));

/** The provisioned harness python (provision.sh creates the venv once, then only prints its path). */
export function harnessPython(): string {
  return execFileSync('bash', [join(HARNESS_DIR, 'provision.sh')], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop()!;
}

export function catalogOf(plugin: BackendPlugin): BackendCatalog {
  return { get: (name) => (name === plugin.name ? plugin : undefined), names: () => [plugin.name] };
}

/** A small, fast tiny-gpt2 experiment (raw YAML-like input). */
export function tinyConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: 'builtin:tiny-gpt2',
    n: 8,
    dataset: { source: 'synthetic', input_len: 16 },
    precision: 'fp32',
    max_input_tokens: 64,
    max_output_tokens: 16,
    warmup: { n_warmup: 2, min_prompts: 1 },
    baseline: { enabled: false },
    pytorch: { batch_size: 2 },
    ...overrides,
  };
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `llem-bp-${prefix}-`));
}

export interface LaunchResult {
  ctx: BackendContext;
  events: ProtocolEvent[];
  stderrTail: string[];
  outcome: Awaited<ReturnType<ProcessGroupRunner['run']>>;
  collect: () => ReturnType<BackendPlugin['collect']>;
  cleanup: () => Promise<void>;
}

/** What the orchestrator does: resolve, prepare, write files, run with the real runner, clean up. */
export async function launch(
  plugin: BackendPlugin,
  raw: Record<string, unknown>,
  options: { launch: LaunchMode; experimentId?: string; signal?: AbortSignal; onSpawn?: () => void },
): Promise<LaunchResult> {
  const { config, configHash } = resolveExperimentConfig(raw, { backends: catalogOf(plugin) });
  const workDir = await tempDir('run');
  const ctx: BackendContext<PytorchConfig> = {
    config,
    section: pytorchSection(config),
    configHash,
    experimentId: options.experimentId ?? `t-${configHash}`,
    workDir,
    launch: options.launch,
  };
  const plan = await plugin.prepare(ctx);
  for (const file of plan.files ?? [])
    await writeFile(resolveInside(workDir, file.path), file.content, { mode: file.mode ?? 0o600 });
  const events: ProtocolEvent[] = [];
  const stderrTail: string[] = [];
  try {
    const outcome = await new ProcessGroupRunner().run(plan.spec, {
      ...(options.signal ? { signal: options.signal } : {}),
      onEvent: (event) => events.push(event),
      onLine: (line, stream) => {
        if (stream === 'stderr') stderrTail.push(line);
      },
      ...(options.onSpawn ? { onSpawn: options.onSpawn } : {}),
    });
    return {
      ctx,
      events,
      stderrTail,
      outcome,
      collect: () => plugin.collect({ ...ctx, outcome, events, stderrTail: stderrTail.slice(-50) }),
      cleanup: () => rm(workDir, { recursive: true, force: true }),
    };
  } finally {
    for (const path of plan.cleanupPaths ?? []) await rm(path, { force: true });
  }
}

/**
 * Installs `<dir>/docker`: a wrapper that sets the fake's settings and runs fake-docker.mjs. The
 * settings travel in the wrapper because workloads only inherit an allow-listed environment.
 */
export async function installFakeDocker(
  dir: string,
  settings: Record<string, string>,
): Promise<{ docker: string; log: string; stateDir: string }> {
  const { chmod, mkdir } = await import('node:fs/promises');
  const log = join(dir, 'docker-calls.jsonl');
  const stateDir = join(dir, 'containers');
  await mkdir(stateDir, { recursive: true });
  const vars = { FAKE_DOCKER_LOG: log, FAKE_DOCKER_STATE_DIR: stateDir, ...settings };
  const exports = Object.entries(vars)
    .map(([key, value]) => `export ${key}='${value.replaceAll("'", `'\\''`)}'`)
    .join('\n');
  const docker = join(dir, 'docker');
  await writeFile(docker, `#!/bin/sh\n${exports}\nexec '${process.execPath}' '${FAKE_DOCKER}' "$@"\n`);
  await chmod(docker, 0o755);
  return { docker, log, stateDir };
}

export async function dockerCalls(
  log: string,
): Promise<
  Array<{ argv: string[]; secretsFileMode?: number | null; entrypoint?: string | null; command?: string[] }>
> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(log, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}
