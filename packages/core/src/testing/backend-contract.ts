import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { resolveExperimentConfig } from '../config/resolve.js';
import { isLlemError, messageOf } from '../errors.js';
import type { BackendCatalog, BackendContext, BackendPlugin, LaunchPlan } from '../plugins/backend.js';
import type { Runner } from '../plugins/runner.js';
import type { ProtocolEvent } from '../protocol/events.js';
import { WorkloadResultSchema } from '../results/workload-result.js';
import { resolveInside } from '../security/ids.js';
import { expectRejection } from './rejection.js';

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
      expect(
        setup.plugin.name,
        'a backend name must be lowercase letters, digits and dashes, starting with a letter: users write it as `backend: <name>` and it names the config section and the package llem-backend-<name>',
      ).toMatch(/^[a-z][a-z0-9-]*$/);
      const unknown = (setup.plugin.configSchema as z.ZodType).safeParse({ definitely_not_a_field: 1 });
      expect(
        unknown.success,
        'configSchema must refuse an unknown key (z.strictObject): a typo in the section would otherwise be ignored and the run measured with a default the user did not mean',
      ).toBe(false);
      if (!unknown.success)
        expect(
          unknown.error.issues.some((i) => i.code === 'unrecognized_keys'),
          "configSchema must refuse an unknown key as 'unrecognized_keys', not some other issue: that is what gives the user a did-you-mean for the typo",
        ).toBe(true);
    });

    it('resolves its section with defaults and a stable hash', () => {
      const catalog: BackendCatalog = { get: () => setup.plugin, names: () => [setup.plugin.name] };
      const a = resolveExperimentConfig(setup.validConfig, { backends: catalog });
      const b = resolveExperimentConfig(JSON.parse(JSON.stringify(setup.validConfig)), { backends: catalog });
      expect(a.configHash, 'a resolved config must hash to 16 hex digits').toMatch(/^[0-9a-f]{16}$/);
      expect(
        a.configHash,
        'the same config must always hash the same (no random or time-dependent defaults in the section): the hash is how a finished run is found and never measured twice',
      ).toBe(b.configHash);
      expect(
        a.config[setup.plugin.name],
        "resolving must fill in the backend's section (defaults applied) under its name: prepare and collect get it as ctx.section",
      ).toBeTypeOf('object');
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
        expect(
          Array.isArray(plan.spec.argv),
          'prepare must return spec.argv as an array: the runner spawns it without a shell, so no quoting bug or injection is possible',
        ).toBe(true);
        expect(plan.spec.argv.length, 'spec.argv must name a program to run (argv[0])').toBeGreaterThan(0);
        for (const arg of plan.spec.argv)
          expect(typeof arg, `every argv entry must be a string (got ${String(arg)})`).toBe('string');
        expect(
          plan.spec.argv.join(' '),
          'argv must not contain a secret (HF_TOKEN): argv is visible to every user in `ps` and printed by --dry-run; pass secrets in a 0600 file (writeSecretEnvFile)',
        ).not.toContain(secret);
        expect(
          Object.values(plan.spec.env).join(' '),
          'spec.env must not contain a secret (HF_TOKEN): the env map is shown by --dry-run and logs; build it with buildSubprocessEnv, which drops secrets, and pass them in a 0600 file (writeSecretEnvFile)',
        ).not.toContain(secret);
        for (const file of plan.files ?? [])
          expect(
            () => resolveInside(workDir, file.path),
            `plan.files path ${JSON.stringify(file.path)} must be relative and stay inside the work directory: the orchestrator writes each file there, and an absolute or ../ path would write anywhere`,
          ).not.toThrow();
        expect(
          await readdir(workDir),
          'prepare must not write into the work directory itself: return the files the workload needs in plan.files (the orchestrator writes them there), and write secrets files (writeSecretEnvFile) outside it, in the OS temp dir or a directory the user configures, listed in plan.cleanupPaths so they are deleted after the run. The work directory is under the results directory, is kept after a failed attempt and is mounted into the container, so a secret in it is shared with whoever reads the results',
        ).toEqual([]);
      } finally {
        if (previous === undefined) delete process.env.HF_TOKEN;
        else process.env.HF_TOKEN = previous;
      }
    });

    it('runs a workload that reports a measurement window and a valid result', async () => {
      const run = await launch(setup, setup.validConfig);
      dirs.push(run.ctx.workDir);
      expect(
        run.outcome,
        'the workload of validConfig must exit 0: the rest of the contract needs one successful run of the launch plan',
      ).toMatchObject({ kind: 'exited', exitCode: 0 });
      const names = run.events.map((e) => e.event);
      expect(
        names.indexOf('window-start'),
        'the workload must print a `window-start` protocol event on stdout (`@@llem {...}`): energy is integrated from it, without it nothing is measured',
      ).toBeGreaterThanOrEqual(0);
      expect(
        names.indexOf('window-end'),
        'the workload must print `window-end` after `window-start`: the measurement window is the span between them',
      ).toBeGreaterThan(names.indexOf('window-start'));
      const result = await run.collect();
      const parsed = WorkloadResultSchema.safeParse(result);
      expect(
        parsed.success ? [] : parsed.error.issues,
        'collect must return a WorkloadResult that validates against WorkloadResultSchema: results are written only from a valid one',
      ).toEqual([]);
      expect(
        result.tokens.total,
        'tokens.total must equal tokens.input + tokens.output: J/token and tok/s are computed from these counts',
      ).toBe(result.tokens.input + result.tokens.output);
      expect(
        BigInt(result.window.end_mono_ns),
        "the result's window must not end before it starts: a negative window has no energy and no throughput",
      ).toBeGreaterThanOrEqual(BigInt(result.window.start_mono_ns));
      const start = run.events.find((e) => e.event === 'window-start')!;
      expect(
        result.window.start_mono_ns,
        "the result's window.start_mono_ns must be the t_mono_ns of the `window-start` event: both come from the same monotonic clock reading, or energy and throughput describe different spans",
      ).toBe(start.t_mono_ns);
    });

    it('turns a failing workload into an LlemError with a message', async (ctx) => {
      if (!setup.failingConfig) return ctx.skip();
      const run = await launch(setup, setup.failingConfig);
      dirs.push(run.ctx.workDir);
      expect(
        run.outcome.kind === 'exited' && run.outcome.exitCode === 0,
        'the workload of failingConfig must not exit 0: a failure must be visible in the exit status, not only in the output',
      ).toBe(false);
      const error = await run.collect().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(
        error,
        'collect of a failed workload must throw an LlemError (isLlemError, e.g. BackendError): returning a result would record a failed run as measured, and another error is an unclassified crash',
      ).toSatisfy(isLlemError);
      expect(
        messageOf(error).length,
        "the error of a failed workload must have a message: it is what `llem run` and `llem status` show the user (say what failed, from the workload's error event or stderr)",
      ).toBeGreaterThan(0);
    });

    it('stops when aborted and reports it as interrupted', async (ctx) => {
      if (!setup.slowConfig) return ctx.skip();
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 500);
      const run = await launch(setup, setup.slowConfig, controller.signal);
      clearTimeout(timer);
      dirs.push(run.ctx.workDir);
      expect(
        run.outcome.kind,
        "an aborted run of slowConfig must end as 'interrupted': the workload must stop on SIGTERM to its process group (no ignored signals, no detached children)",
      ).toBe('interrupted');
      await expectRejection(
        run.collect(),
        'collect of an interrupted workload must reject with an LlemError (isLlemError): an interrupted run has no result, and returning one would record a partial measurement',
        isLlemError,
      );
    });
  });
}
