import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExperimentResultSchema } from '@llem/core';
import { createSandbox, jsonLines, repoRoot } from '@llem/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Manifest, publicPackages } from './packages.js';

/**
 * The published packages as users get them. Every public package is packed with `pnpm pack` (which
 * rewrites `workspace:` ranges), each tarball's files are checked, and all of them are installed
 * with npm into a scratch project, from where the installed `llem` runs a one-experiment study
 * with a backend plugin written here against the installed @llem/core (and, when the harness
 * Python is provisioned, LLEM_PYTHON, one with the PyTorch backend, whose harness the CLI ships).
 */

interface Tarball {
  name: string;
  file: string;
  /** Paths inside the package (without the tarball's `package/` prefix). */
  entries: string[];
  manifest: Manifest;
}

const work = mkdtempSync(join(tmpdir(), 'llem-packaging-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const tarballs: Tarball[] = [];

beforeAll(() => {
  const packs = join(work, 'packs');
  mkdirSync(packs);
  for (const { dir, manifest } of publicPackages()) {
    const out = execFileSync('pnpm', ['pack', '--json', '--pack-destination', packs], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const { filename } = JSON.parse(out) as { filename: string };
    const entries = execFileSync('tar', ['-tzf', filename], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((path) => path.replace(/^package\//, ''));
    const packed = JSON.parse(
      execFileSync('tar', ['-xzOf', filename, 'package/package.json'], { encoding: 'utf8' }),
    ) as Manifest;
    tarballs.push({ name: manifest.name, file: filename, entries, manifest: packed });
  }
});

/** Every file path an `exports` map, `bin`, `main` or `types` points to (all conditions). */
function pointedTo(manifest: Manifest): string[] {
  const targets: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') targets.push(value);
    else if (value && typeof value === 'object') for (const v of Object.values(value)) walk(v);
  };
  walk(manifest.exports);
  walk(manifest.bin);
  walk(manifest.main);
  walk(manifest.types);
  return targets.map((target) => target.replace(/^\.\//, ''));
}

const TEST_FILE =
  /(^|\/)(test|tests|__tests__|__mocks__|fixtures)\/|\.(test|spec)\.[cm]?[jt]sx?$|(^|\/)vitest\.config\.|(^|\/)conftest\.py$/;

describe('each published tarball', () => {
  it('exists for every public package', () => {
    expect(tarballs.map((t) => t.name)).toEqual(publicPackages().map((p) => p.manifest.name));
    expect(tarballs.length).toBeGreaterThan(5);
  });

  it('has no Python bytecode, no tests and no workspace: ranges', () => {
    for (const { name, entries, manifest } of tarballs) {
      expect(
        entries.filter((path) => /(^|\/)__pycache__\/|\.py[co]$/.test(path)),
        name,
      ).toEqual([]);
      expect(
        entries.filter((path) => TEST_FILE.test(path)),
        name,
      ).toEqual([]);
      const ranges = {
        ...manifest.dependencies,
        ...manifest.peerDependencies,
        ...manifest.optionalDependencies,
      };
      expect(
        Object.entries(ranges).filter(([, range]) => range.startsWith('workspace:')),
        name,
      ).toEqual([]);
    }
  });

  it('holds every file its exports and bin point to', () => {
    for (const { name, entries, manifest } of tarballs) {
      const targets = pointedTo(manifest);
      expect(targets.length, name).toBeGreaterThan(0);
      for (const target of targets) {
        const found = target.includes('*')
          ? entries.some((path) =>
              new RegExp(`^${target.split('*').map(escapeRegExp).join('.+')}$`).test(path),
            )
          : entries.includes(target);
        expect(found, `${name}: ${target}`).toBe(true);
      }
    }
  });

  it('the CLI is self-contained: its code imports only Node, itself and its dependencies', () => {
    const cli = tarballs.find((t) => t.name === '@llem/cli')!;
    const allowed = new Set([...builtinModules, ...Object.keys(cli.manifest.dependencies ?? {})]);
    expect(Object.keys(cli.manifest.dependencies ?? {}).sort()).toEqual(['better-sqlite3', 'koffi']);
    const dir = join(work, 'cli-files');
    mkdirSync(dir);
    execFileSync('tar', ['-xzf', cli.file, '-C', dir]);
    const js = cli.entries.filter((path) => /^dist\/[^/]+\.js$/.test(path));
    expect(js).toContain('dist/bin.js');
    const strays = new Set<string>();
    for (const path of js) {
      const text = readFileSync(join(dir, 'package', path), 'utf8');
      const specifiers =
        /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']((?:\.{1,2}\/|node:|@?[a-z])[\w./@-]*)["']/g;
      for (const [, spec] of text.matchAll(specifiers)) {
        const bare = spec!.replace(/^node:/, '');
        if (spec!.startsWith('./') || allowed.has(bare) || allowed.has(bare.split('/')[0]!)) continue;
        strays.add(`${path}: ${spec}`);
      }
    }
    expect([...strays]).toEqual([]);
    expect(cli.entries).toContain('dist/THIRD-PARTY-LICENSES.txt');
    // The PyTorch harness travels with the bundled backend.
    // So do the AI Energy Score prompts with their licence notice (`dataset: aienergyscore` offline).
    for (const file of [
      'harness/llem_harness/__main__.py',
      'harness/llem_harness/preflight.py',
      'harness/llem_harness/data/aienergyscore.jsonl',
      'harness/llem_harness/data/NOTICE',
      'harness/provision.sh',
      'docker/Dockerfile',
    ])
      expect(cli.entries).toContain(`dist/backend-pytorch/${file}`);
  });
});

describe('installed with npm into a scratch project', () => {
  const project = join(work, 'project');
  const box = createSandbox('llem-packaging-run-');
  afterAll(() => box.remove());
  const bin = join(project, 'node_modules/.bin/llem');

  beforeAll(() => {
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'llem-scratch', version: '0.0.0', private: true, type: 'module' }),
    );
    // Install scripts are skipped: better-sqlite3's compiles its addon from source when no prebuilt
    // binary can be downloaded (a minute of C++ that tests nothing of ours), so the addon this
    // workspace already built for the same version and Node is copied in instead. koffi ships
    // its binaries in optional dependencies and needs no script.
    execFileSync(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        ...tarballs.map((t) => t.file),
      ],
      { cwd: project, stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 },
    );
    copyBetterSqliteAddon(project);
  });

  /** Runs the installed llem in the scratch project, with the sandbox's HOME, state and results. */
  function llem(args: string[], env: NodeJS.ProcessEnv = {}) {
    const r = spawnSync(bin, args, { cwd: project, env: { ...box.env, ...env }, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('installs only the declared dependencies next to the packages', () => {
    const installed = (name: string) => existsSync(join(project, 'node_modules', name, 'package.json'));
    for (const { name } of tarballs) expect(installed(name), name).toBe(true);
    for (const name of ['better-sqlite3', 'koffi', 'zod', 'yaml']) expect(installed(name), name).toBe(true);
    // Bundled into the CLI, and nothing else asks for them.
    for (const name of ['cli-table3', 'env-paths']) expect(installed(name), name).toBe(false);
    // commander is bundled too; vega (a dependency of @llem/report) brings its own old major
    // through topojson-client, never the CLI's.
    const cliCommander = (
      tarballs.find((t) => t.name === '@llem/cli')!.manifest as {
        devDependencies?: Record<string, string>;
      }
    ).devDependencies?.commander;
    if (installed('commander')) {
      const { version } = JSON.parse(
        readFileSync(join(project, 'node_modules', 'commander', 'package.json'), 'utf8'),
      ) as { version: string };
      expect(version, 'the CLI must not install its bundled commander').not.toBe(cliCommander);
    }
  });

  it('llem --version', () => {
    const cli = tarballs.find((t) => t.name === '@llem/cli')!;
    const r = llem(['--version']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`llem ${cli.manifest.version}\n`);
  });

  it('runs a one-experiment study with a backend plugin written against the installed @llem/core', () => {
    writeFileSync(join(project, 'tiny-workload.mjs'), TINY_WORKLOAD);
    writeFileSync(join(project, 'tiny-backend.mjs'), TINY_BACKEND);
    writeFileSync(join(project, 'study.yaml'), TINY_STUDY);
    expect(llem(['config', 'validate', 'study.yaml']).code).toBe(0);

    const r = llem(['run', 'study.yaml', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = jsonLines(r.stdout).find((line) => line.type === 'summary') as {
      counts: Record<string, number>;
      runs: { resultPath: string | null }[];
    };
    expect(summary.counts).toMatchObject({ total: 1, done: 1, failed: 0 });
    const result = ExperimentResultSchema.parse(
      JSON.parse(readFileSync(summary.runs[0]!.resultPath!, 'utf8')),
    );
    expect(result.backend).toMatchObject({ name: 'tiny', launch: 'local' });
    expect(result.workload.output_tokens).toBe(6);
    // The bundled core reports its own version, as the unbundled one read it from its package.json.
    const core = tarballs.find((t) => t.name === '@llem/core')!;
    expect(result.llem_version).toBe(core.manifest.version);

    // The default (SQLite) store holds it: the native addon loads from the install.
    const status = llem(['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('"phase":"done"');
  });

  it('a plugin error is classified across the two copies of core: a bad section is exit 2', () => {
    writeFileSync(join(project, 'bad.yaml'), TINY_STUDY.replace('tiny: {}', 'tiny: { tokenz: 3 }'));
    const r = llem(['config', 'validate', 'bad.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: .*tiny\.tokenz/);
    expect(r.stderr).toContain("did you mean 'tokens'");
  });

  it('finds the PyTorch harness it ships: --dry-run names the venv from its requirements', () => {
    writeFileSync(join(project, 'pytorch.yaml'), PYTORCH_EXPERIMENT);
    const r = llem(['run', 'pytorch.yaml', '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const plan = jsonLines(r.stdout).find((line) => line.type === 'plan') as {
      experiments: { command: string }[];
    };
    // provision.sh's venv key: the hash of the harness requirements the CLI ships.
    const harness = join(repoRoot, 'packages/backend-pytorch/harness');
    const key = createHash('sha256')
      .update(readFileSync(join(harness, 'requirements.txt')))
      .update(readFileSync(join(harness, 'requirements-test.txt')))
      .digest('hex')
      .slice(0, 12);
    expect(plan.experiments[0]!.command).toContain(`/pytorch-${key}/bin/python -m llem_harness`);
  });

  it.runIf(process.env.LLEM_PYTHON)('runs a one-experiment tiny-gpt2 study with the PyTorch backend', () => {
    const r = llem(['run', 'pytorch.yaml', '--json'], {
      LLEM_PYTHON: process.env.LLEM_PYTHON,
      HF_HUB_OFFLINE: '1',
      LLEM_OFFLINE: '1',
    });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const summary = jsonLines(r.stdout).find((line) => line.type === 'summary') as {
      counts: Record<string, number>;
    };
    expect(summary.counts).toMatchObject({ total: 1, done: 1, failed: 0 });
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Puts the workspace's compiled better-sqlite3 addon (same version) into the scratch install. */
function copyBetterSqliteAddon(project: string): void {
  const installed = join(project, 'node_modules/better-sqlite3');
  const ours = join(
    createRequire(join(repoRoot, 'packages/state-sqlite/package.json')).resolve(
      'better-sqlite3/package.json',
    ),
    '..',
  );
  const version = (dir: string) =>
    (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  expect(version(installed)).toBe(version(ours));
  const addon = 'build/Release/better_sqlite3.node';
  if (existsSync(join(installed, addon))) return;
  mkdirSync(join(installed, 'build/Release'), { recursive: true });
  copyFileSync(join(ours, addon), join(installed, addon));
}

/** The workload: reports its window on stdout (llem's protocol) and writes its result. */
const TINY_WORKLOAD = `import { renameSync, writeFileSync } from 'node:fs';
const [n, outDir] = process.argv.slice(2);
const emit = (event, at) =>
  process.stdout.write('@@llem ' + JSON.stringify({ v: 1, t_mono_ns: at.toString(), event }) + '\\n');
const start = process.hrtime.bigint();
const startUtc = new Date().toISOString();
emit('window-start', start);
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
const end = process.hrtime.bigint();
emit('window-end', end);
const seconds = Number(end - start) / 1e9;
const output = Number(n) * 3;
const result = {
  workload_schema_version: 1, backend: 'tiny', backend_version: '0.0.0', model: 'tiny-model',
  window: { start_mono_ns: start.toString(), end_mono_ns: end.toString(), start_utc: startUtc,
    end_utc: new Date().toISOString(), duration_s: seconds },
  requests: Number(n), batches: 1, tokens: { input: 0, output, total: output },
  throughput: { output_tokens_per_s: output / seconds, total_tokens_per_s: output / seconds,
    requests_per_s: Number(n) / seconds },
  latency: null, warmup: null, memory: null, flops: null, environment: {}, energy_cross_check: null,
  warnings: [],
};
writeFileSync(outDir + '/workload-result.json.tmp', JSON.stringify(result));
renameSync(outDir + '/workload-result.json.tmp', outDir + '/workload-result.json');
`;

/** A backend plugin as a user writes one: against the installed @llem/core and its zod. */
const TINY_BACKEND = `import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { BackendError, buildSubprocessEnv, definePlugin, WorkloadResultSchema } from '@llem/core';
import { z } from 'zod';

const workload = fileURLToPath(new URL('./tiny-workload.mjs', import.meta.url));

export default definePlugin({
  kind: 'backend',
  name: 'tiny',
  create: () => ({
    name: 'tiny',
    configSchema: z.strictObject({ tokens: z.number().int().min(1).default(3) }),
    supportedLaunchModes: ['local'],
    async prepare(ctx) {
      return {
        spec: {
          argv: [process.execPath, workload, String(ctx.config.n), ctx.workDir],
          env: buildSubprocessEnv(),
          cwd: ctx.workDir,
          graceMs: 2000,
        },
      };
    },
    async collect(ctx) {
      if (ctx.outcome.kind !== 'exited' || ctx.outcome.exitCode !== 0)
        throw new BackendError('tiny workload failed: ' + (ctx.stderrTail.at(-1) ?? ctx.outcome.kind));
      return WorkloadResultSchema.parse(JSON.parse(await readFile(ctx.workDir + '/workload-result.json', 'utf8')));
    },
  }),
});
`;

const TINY_STUDY = `name: packaging
model: tiny-model
backend: tiny
launch: local
n: 2
tiny: {}
warmup: { enabled: false }
baseline: { enabled: false }
energy: { enabled: false }
cycles: 1
plugins: [./tiny-backend.mjs]
`;

const PYTORCH_EXPERIMENT = `name: packaging-pytorch
model: builtin:tiny-gpt2
backend: pytorch
launch: local
precision: fp32
n: 2
dataset: { source: synthetic, input_len: 16 }
max_input_tokens: 32
max_output_tokens: 4
decoder: { preset: deterministic }
warmup: { n_warmup: 1 }
baseline: { enabled: false }
energy: { cpu_tdp_watts: 65, min_window_seconds: 0 }
cycles: 1
`;
