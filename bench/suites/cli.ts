/**
 * `pnpm bench cli`: what the `llem` binary costs.
 * - Cold start of the BUILT (bundled) binary, median of 15, next to a bare `node -e 0` measured in
 *   the same run, interleaved with it (one of each in turn, so a busy machine slows both alike):
 *   `llem --version` and `llem --help` (target: at most 1.3x bare node), `llem config validate` of
 *   the quickstart example (target: at most 150 ms).
 * - `llem config validate` of a 100,000-point sweep (`sweep: {n: [1, ..., 100000]}`, the default
 *   cap on a study's size), median of 5, next to validating the quickstart example. Target < 1 s.
 * - Orchestration overhead per experiment: a 200-experiment study whose backend runs /bin/true,
 *   through the library API with a real SQLite store and the real process-group runner, minus the
 *   cost of spawning /bin/true itself. Target < 20 ms per experiment.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BackendCatalog,
  type BackendPlugin,
  ExperimentConfigBaseSchema,
  isoUtc,
  type WorkloadResult,
} from '@llem/core';
import { expandStudy, runStudy } from '@llem/core/orchestration';
import { ProcessGroupRunner } from '@llem/runner-node';
import { createSqliteStateStore } from '@llem/state-sqlite';
import { type BenchRow, type BenchSuite, median } from '../types.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(repoRoot, 'packages/cli/dist/bin.js');
const STARTS = 15;
const EXPERIMENTS = 200;
const SWEEP_POINTS = 100_000;
const SWEEP_RUNS = 5;

/** One cold start: spawn to exit, in ms. */
function startMs(argv: readonly string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { cwd: repoRoot, stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}`);
  return ms;
}

/**
 * Median cold start of each command, measured in turns (each command once per round, after two
 * warm-up rounds for the file cache), so a baseline and what it is compared with share the load.
 */
function coldStartsMs(commands: readonly (readonly string[])[], runs = STARTS): number[] {
  const samples = commands.map(() => [] as number[]);
  for (let round = 0; round < runs + 2; round++)
    commands.forEach((argv, i) => {
      const ms = startMs(argv);
      if (round >= 2) samples[i]!.push(ms);
    });
  return samples.map(median);
}

function coldStartMs(argv: readonly string[], runs = STARTS): number {
  return coldStartsMs([argv], runs)[0]!;
}

/** `llem config validate` of a SWEEP_POINTS-point sweep on tiny-gpt2 (valid: every point is checked). */
async function bigSweepValidateMs(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'llem-bench-sweep-'));
  try {
    const file = join(dir, 'sweep.yaml');
    const values = Array.from({ length: SWEEP_POINTS }, (_, i) => i + 1).join(', ');
    await writeFile(file, `model: builtin:tiny-gpt2\nbackend: pytorch\nsweep:\n  n: [${values}]\n`);
    return coldStartMs([bin, 'config', 'validate', file], SWEEP_RUNS);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A backend whose workload is /bin/true: the run costs what the orchestration around it costs. */
function trueBackend(): BackendPlugin {
  return {
    name: 'true',
    // An empty strict section (zod is not a dependency of the bench folder itself).
    configSchema: ExperimentConfigBaseSchema.pick({}),
    supportedLaunchModes: ['local'],
    async prepare() {
      return {
        spec: { argv: ['/bin/true'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, graceMs: 1000 },
      };
    },
    async collect(ctx): Promise<WorkloadResult> {
      const now = process.hrtime.bigint().toString();
      const utc = isoUtc(new Date());
      return {
        workload_schema_version: 1,
        backend: 'true',
        backend_version: null,
        model: ctx.config.model,
        window: { start_mono_ns: now, end_mono_ns: now, start_utc: utc, end_utc: utc, duration_s: 0 },
        requests: ctx.config.n,
        batches: 1,
        tokens: { input: 0, output: ctx.config.n, total: ctx.config.n },
        throughput: { output_tokens_per_s: 0, total_tokens_per_s: 0, requests_per_s: 0 },
        latency: null,
        warmup: null,
        memory: null,
        flops: null,
        environment: {},
        energy_cross_check: null,
        warnings: [],
      };
    },
  };
}

async function orchestrationOverheadMs(): Promise<{
  perExperiment: number;
  bareSpawn: number;
  runnerOnly: number;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'llem-bench-cli-'));
  try {
    const plugin = trueBackend();
    const backends: BackendCatalog = {
      get: (name) => (name === 'true' ? plugin : undefined),
      names: () => ['true'],
    };
    const raw = {
      name: 'bench',
      model: 'none',
      backend: 'true',
      energy: { enabled: false },
      baseline: { enabled: false },
      warmup: { enabled: false },
      sweep: { n: Array.from({ length: EXPERIMENTS }, (_, i) => i + 1) },
    };
    const plan = expandStudy(raw, { backends });
    const store = await createSqliteStateStore({ path: join(dir, 'state.sqlite') });
    const runner = new ProcessGroupRunner();
    const t0 = process.hrtime.bigint();
    const summary = await runStudy(plan, { store, runner, backends, resultsDir: join(dir, 'results') });
    const totalMs = Number(process.hrtime.bigint() - t0) / 1e6;
    await store.close();
    if (summary.counts.done !== EXPERIMENTS)
      throw new Error(`expected ${EXPERIMENTS} done, got ${JSON.stringify(summary.counts)}`);

    // The process itself: spawning /bin/true directly, the same number of times.
    const s0 = process.hrtime.bigint();
    for (let i = 0; i < EXPERIMENTS; i++) spawnSync('/bin/true');
    const bareMs = Number(process.hrtime.bigint() - s0) / 1e6 / EXPERIMENTS;
    // For the breakdown: the runner alone (process group + watchdog) on the same workload.
    const r0 = process.hrtime.bigint();
    for (let i = 0; i < EXPERIMENTS; i++)
      await runner.run({
        argv: ['/bin/true'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        graceMs: 1000,
      });
    const runnerMs = Number(process.hrtime.bigint() - r0) / 1e6 / EXPERIMENTS;
    return {
      perExperiment: totalMs / EXPERIMENTS - bareMs,
      bareSpawn: bareMs,
      runnerOnly: runnerMs - bareMs,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const suite: BenchSuite = {
  name: 'cli',
  async run(): Promise<BenchRow[]> {
    if (!existsSync(bin))
      execFileSync('pnpm', ['--filter', '@llem/cli...', 'build'], { cwd: repoRoot, stdio: 'ignore' });
    const [nodeMs, versionMs, helpMs, validateMs] = coldStartsMs([
      ['-e', '0'],
      [bin, '--version'],
      [bin, '--help'],
      [bin, 'config', 'validate', 'examples/quickstart.yaml'],
    ]) as [number, number, number, number];
    const sweepMs = await bigSweepValidateMs();
    const { perExperiment, bareSpawn, runnerOnly } = await orchestrationOverheadMs();
    const baseline = { name: 'node -e 0', value: nodeMs };
    return [
      {
        suite: 'cli',
        name: `llem --version cold start (median of ${STARTS})`,
        value: versionMs,
        unit: 'ms',
        baseline,
        target: '<= 1.3x node',
        ok: versionMs <= 1.3 * nodeMs,
      },
      {
        suite: 'cli',
        name: `llem --help cold start (median of ${STARTS})`,
        value: helpMs,
        unit: 'ms',
        baseline,
        target: '<= 1.3x node',
        ok: helpMs <= 1.3 * nodeMs,
      },
      {
        suite: 'cli',
        name: `llem config validate examples/quickstart.yaml cold start (median of ${STARTS})`,
        value: validateMs,
        unit: 'ms',
        baseline,
        target: '<= 150 ms',
        ok: validateMs <= 150,
      },
      {
        suite: 'cli',
        name: `llem config validate of a ${SWEEP_POINTS.toLocaleString('en-US')}-point sweep (median of ${SWEEP_RUNS})`,
        value: sweepMs,
        unit: 'ms',
        baseline: { name: 'config validate quickstart', value: validateMs },
        target: '< 1000 ms',
        ok: sweepMs < 1000,
      },
      {
        suite: 'cli',
        name: `orchestration overhead per experiment (${EXPERIMENTS}-experiment study, /bin/true backend, SQLite store)`,
        value: perExperiment,
        unit: 'ms',
        baseline: { name: 'spawn /bin/true', value: bareSpawn },
        target: '< 20 ms',
        ok: perExperiment < 20,
      },
      {
        suite: 'cli',
        name: 'of which the runner alone (process group + watchdog), per experiment',
        value: runnerOnly,
        unit: 'ms',
        baseline: { name: 'spawn /bin/true', value: bareSpawn },
      },
    ];
  },
};
