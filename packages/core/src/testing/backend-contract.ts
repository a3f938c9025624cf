import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { resolveExperimentConfig } from '../config/resolve.js';
import { LlemError, messageOf } from '../errors.js';
import type { BackendCatalog, BackendContext, BackendPlugin, LaunchPlan } from '../plugins/backend.js';
import type { Runner } from '../plugins/runner.js';
import type { ProtocolEvent } from '../protocol/events.js';
import { WorkloadResultSchema } from '../results/workload-result.js';
import { resolveInside } from '../security/ids.js';

export interface BackendContractSetup {
  plugin: BackendPlugin;
  /** A real runner that executes launch plans (e.g. runner-node's ProcessGroupRunner). */
  runner: Runner;
  /** A raw experiment config for this backend that runs in a few seconds. */
  validConfig: Record<string, unknown>;
  /** A raw config whose workload starts but fails. */
  failingConfig?: Record<string, unknown>;
  /** A raw config whose workload runs long enough to be interrupted (> 2 s). */
  slowConfig?: Record<string, unknown>;
}

async function launch(setup: BackendContractSetup, raw: Record<string, unknown>, signal?: AbortSignal) {
  const catalog: BackendCatalog = {
    get: (n) => (n === setup.plugin.name ? setup.plugin : undefined),
    names: () => [setup.plugin.name],
  };
  const { config, configHash } = resolveExperimentConfig(raw, { backends: catalog });
  const workDir = await mkdtemp(join(tmpdir(), 'llem-backend-contract-'));
  const ctx: BackendContext = {
    config,
    section: config[config.backend],
    configHash,
    experimentId: `contract-${configHash}`,
    workDir,
    launch: 'local',
  };
  const plan: LaunchPlan = await setup.plugin.prepare(ctx);
  for (const file of plan.files ?? [])
    await writeFile(resolveInside(workDir, file.path), file.content, { mode: file.mode ?? 0o600 });
  const events: ProtocolEvent[] = [];
  const stderrTail: string[] = [];
  const outcome = await setup.runner.run(plan.spec, {
    signal,
    onEvent: (event) => events.push(event),
    onLine: (line, stream) => {
      if (stream === 'stderr') stderrTail.splice(0, Math.max(0, stderrTail.length - 49), line);
    },
  });
  return {
    ctx,
    plan,
    outcome,
    events,
    collect: () => setup.plugin.collect({ ...ctx, outcome, events, stderrTail }),
  };
}

/**
 * The behaviour every backend plugin owes llem. Run it from the plugin's own tests:
 * `describeBackendContract('echo', () => ({ plugin, runner, validConfig }))`.
 */
export function describeBackendContract(
  name: string,
  factory: () => BackendContractSetup | Promise<BackendContractSetup>,
): void {
  describe(`BackendPlugin contract: ${name}`, () => {
    let setup: BackendContractSetup;
    const dirs: string[] = [];
    beforeAll(async () => {
      setup = await factory();
    });
    afterAll(async () => {
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    });

    it('has a lowercase name and a strict config schema', () => {
      expect(setup.plugin.name).toMatch(/^[a-z][a-z0-9-]*$/);
      const unknown = (setup.plugin.configSchema as z.ZodType).safeParse({ definitely_not_a_field: 1 });
      expect(unknown.success).toBe(false);
      if (!unknown.success)
        expect(unknown.error.issues.some((i) => i.code === 'unrecognized_keys')).toBe(true);
    });

    it('resolves its section with defaults and a stable hash', () => {
      const catalog: BackendCatalog = { get: () => setup.plugin, names: () => [setup.plugin.name] };
      const a = resolveExperimentConfig(setup.validConfig, { backends: catalog });
      const b = resolveExperimentConfig(JSON.parse(JSON.stringify(setup.validConfig)), { backends: catalog });
      expect(a.configHash).toMatch(/^[0-9a-f]{16}$/);
      expect(a.configHash).toBe(b.configHash);
      expect(a.config[setup.plugin.name]).toBeTypeOf('object');
    });

    it('prepares an argv array with safe relative files and no secrets in argv', async () => {
      const secret = `hf_contract_${Math.random().toString(36).slice(2)}`;
      const previous = process.env.HF_TOKEN;
      process.env.HF_TOKEN = secret;
      try {
        const catalog: BackendCatalog = { get: () => setup.plugin, names: () => [setup.plugin.name] };
        const { config, configHash } = resolveExperimentConfig(setup.validConfig, { backends: catalog });
        const workDir = await mkdtemp(join(tmpdir(), 'llem-backend-contract-'));
        dirs.push(workDir);
        const plan = await setup.plugin.prepare({
          config,
          section: config[config.backend],
          configHash,
          experimentId: 'contract-prepare',
          workDir,
          launch: 'local',
        });
        expect(Array.isArray(plan.spec.argv)).toBe(true);
        expect(plan.spec.argv.length).toBeGreaterThan(0);
        for (const arg of plan.spec.argv) expect(typeof arg).toBe('string');
        expect(plan.spec.argv.join(' ')).not.toContain(secret);
        expect(Object.values(plan.spec.env).join(' ')).not.toContain(secret);
        for (const file of plan.files ?? []) expect(() => resolveInside(workDir, file.path)).not.toThrow();
        expect(await readdir(workDir)).toEqual([]);
      } finally {
        if (previous === undefined) delete process.env.HF_TOKEN;
        else process.env.HF_TOKEN = previous;
      }
    });

    it('runs a workload that reports a measurement window and a valid result', async () => {
      const run = await launch(setup, setup.validConfig);
      dirs.push(run.ctx.workDir);
      expect(run.outcome).toMatchObject({ kind: 'exited', exitCode: 0 });
      const names = run.events.map((e) => e.event);
      expect(names.indexOf('window-start')).toBeGreaterThanOrEqual(0);
      expect(names.indexOf('window-end')).toBeGreaterThan(names.indexOf('window-start'));
      const result = await run.collect();
      expect(WorkloadResultSchema.safeParse(result).success).toBe(true);
      expect(result.tokens.total).toBe(result.tokens.input + result.tokens.output);
      expect(BigInt(result.window.end_mono_ns)).toBeGreaterThanOrEqual(BigInt(result.window.start_mono_ns));
      const start = run.events.find((e) => e.event === 'window-start')!;
      expect(result.window.start_mono_ns).toBe(start.t_mono_ns);
    });

    it('turns a failing workload into an LlemError with a message', async (ctx) => {
      if (!setup.failingConfig) return ctx.skip();
      const run = await launch(setup, setup.failingConfig);
      dirs.push(run.ctx.workDir);
      expect(run.outcome.kind === 'exited' && run.outcome.exitCode === 0).toBe(false);
      const error = await run.collect().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(LlemError);
      expect(messageOf(error).length).toBeGreaterThan(0);
    });

    it('stops when aborted and reports it as interrupted', async (ctx) => {
      if (!setup.slowConfig) return ctx.skip();
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 500);
      const run = await launch(setup, setup.slowConfig, controller.signal);
      clearTimeout(timer);
      dirs.push(run.ctx.workDir);
      expect(run.outcome.kind).toBe('interrupted');
      await expect(run.collect()).rejects.toBeInstanceOf(LlemError);
    });
  });
}
