/**
 * Bundles the `llem` command into dist/ (run by `pnpm build` before tsc writes dist/types):
 *
 * - dist/bin.js (the command) and dist/index.js (the library entry), ESM, with every lazily imported
 *   command and plugin in its own chunk next to them (dist/*.js, one flat folder: bundled code finds
 *   dist/bin.js and the copied assets relative to its own file);
 * - the workspace packages the CLI ships (core, stores, runner, energy, backends, executors, report)
 *   are bundled from their sources (the `dev-source` condition), and so are their pure-JS
 *   dependencies (commander, zod, yaml, tsyringe, ...);
 * - native packages stay external: they are the CLI's only dependencies (EXTERNAL below);
 * - zod keeps only its English messages (zodEnglishOnly), and workspace modules are marked side-effect
 *   free so that each command's chunks hold only what it uses (sideEffectFree);
 * - @llem/backend-pytorch's Python harness and Dockerfile are copied to dist/backend-pytorch/, where
 *   the bundled backend finds them (its package-info.ts reads __LLEM_BACKEND_PYTORCH_ASSETS__);
 * - @llem/backend-openai's workload script is bundled on its own into dist/backend-openai/workload.js
 *   (its plugin.ts reads __LLEM_BACKEND_OPENAI_WORKLOAD__);
 * - the licences of the bundled third-party packages go to dist/THIRD-PARTY-LICENSES.txt.
 *
 * The build fails when an output imports a package that is not in EXTERNAL, so a new dependency
 * cannot silently turn into a missing one in the published package.
 */

import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Loaded at run time from node_modules: native addons. Each is a dependency in package.json. */
const EXTERNAL = ['better-sqlite3', 'koffi'];
for (const name of EXTERNAL)
  if (!manifest.dependencies?.[name]) throw new Error(`bundle: external ${name} is not a dependency`);

/** A workspace package's directory (a devDependency of the CLI, linked into its node_modules). */
const packageDir = (name) => join(root, 'node_modules', name);
const versionOf = (name) => JSON.parse(readFileSync(join(packageDir(name), 'package.json'), 'utf8')).version;

/** Where the bundled @llem/backend-pytorch finds its assets, relative to the chunk that holds it. */
const PYTORCH_ASSETS = 'backend-pytorch';
/** The openai backend's workload script (one self-contained file), relative to the chunk that holds the backend. */
const OPENAI_WORKLOAD = 'backend-openai/workload.js';

/**
 * zod's error messages in 40+ languages are 290 KiB of the bundle, and evaluating them costs every
 * start ~5% of `llem config validate`. llem speaks English (zod's default, which its schemas import
 * directly) and never reads `z.locales`: the bundle keeps en only. (This is the CLI's own copy of
 * zod; a plugin's zod is its own and whole.)
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({
      contents: 'export { default as en } from "./en.js";\n',
      loader: 'js',
    }));
  },
};

/**
 * Our packages' modules have no import-time side effects, so they are marked side-effect free: a
 * chunk then holds the modules whose exports its command uses, not everything a package's index
 * re-exports (`llem config validate` loads core's config modules, not the orchestrator, the DI
 * container or the results readers; test/bundle.test.ts checks it). A dynamic `import()` of a
 * package index still loads all of it: the CLI imports such doors through a module of its own
 * (src/orchestration.ts).
 */
const workspaceSource = /[\\/]packages[\\/][^\\/]+[\\/]src[\\/]/;
const sideEffectFree = {
  name: 'side-effect-free-workspace',
  setup(build) {
    build.onResolve({ filter: /^(@llem\/|\.)/ }, async (args) => {
      if (args.pluginData === 'inner') return undefined;
      if (args.path.startsWith('.') && !workspaceSource.test(args.importer)) return undefined;
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: 'inner',
      });
      if (resolved.errors.length) return { errors: resolved.errors };
      return workspaceSource.test(resolved.path) ? { path: resolved.path, sideEffects: false } : undefined;
    });
  },
};

/**
 * vega-canvas (the report's charts) tries `await import('canvas')`, an optional native package, and
 * measures text without it. The CLI renders SVG only and never ships `canvas`: the import resolves
 * to an empty module, so the charts are the same on every machine.
 */
const noNodeCanvas = {
  name: 'no-node-canvas',
  setup(build) {
    build.onResolve({ filter: /^canvas$/ }, () => ({ path: 'canvas', namespace: 'no-node-canvas' }));
    build.onLoad({ filter: /.*/, namespace: 'no-node-canvas' }, () => ({
      contents: 'export {};\n',
      loader: 'js',
    }));
  },
};

rmSync(dist, { recursive: true, force: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { bin: 'src/bin.ts', index: 'src/index.ts' },
  outdir: 'dist',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.11',
  conditions: ['dev-source'],
  // One TypeScript setup for every bundled source (decorators: tsyringe in core).
  tsconfig: join(root, '../../tsconfig.base.json'),
  external: EXTERNAL,
  // Whitespace and syntax only: class names stay (errors report `name`), no __name() helpers.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  define: {
    __LLEM_CORE_VERSION__: JSON.stringify(versionOf('@llem/core')),
    __LLEM_BACKEND_PYTORCH_ASSETS__: JSON.stringify(`./${PYTORCH_ASSETS}/`),
    __LLEM_BACKEND_PYTORCH_VERSION__: JSON.stringify(versionOf('@llem/backend-pytorch')),
    __LLEM_BACKEND_OPENAI_WORKLOAD__: JSON.stringify(`./${OPENAI_WORKLOAD}`),
    __LLEM_BACKEND_OPENAI_VERSION__: JSON.stringify(versionOf('@llem/backend-openai')),
    __LLEM_BACKEND_VLLM_VERSION__: JSON.stringify(versionOf('@llem/backend-vllm')),
  },
  plugins: [zodEnglishOnly, sideEffectFree, noNodeCanvas],
  metafile: true,
  logLevel: 'warning',
});

// The openai backend's workload: run by the runner as `node workload.js`, so one file with the load
// generator inside (it imports nothing of llem's but @llem/loadgen).
const workload = await build({
  absWorkingDir: root,
  entryPoints: [join(packageDir('@llem/backend-openai'), 'src/workload/main.ts')],
  outfile: join(dist, OPENAI_WORKLOAD),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.11',
  conditions: ['dev-source'],
  tsconfig: join(root, '../../tsconfig.base.json'),
  minifyWhitespace: true,
  minifySyntax: true,
  metafile: true,
  logLevel: 'warning',
});

// Every import left in the output is a relative chunk, a Node built-in or an EXTERNAL package.
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const strays = new Set();
for (const [file, output] of Object.entries({ ...result.metafile.outputs, ...workload.metafile.outputs }))
  for (const imported of output.imports)
    if (imported.external && !builtins.has(imported.path) && !EXTERNAL.includes(imported.path))
      strays.add(`${file}: ${imported.path}`);
if (strays.size) throw new Error(`bundle: unexpected external imports:\n${[...strays].join('\n')}`);
// CommonJS dependencies (commander, tsyringe, yaml, ...) require() Node's built-ins through
// esbuild's __require, which needs a `require` in its file's scope. Only the files that name one
// get it (a createRequire per chunk costs ~3% of `llem config validate`); their source maps move
// down a line.
const REQUIRE_LINE =
  "import { createRequire as __llemCreateRequire } from 'node:module'; const require = __llemCreateRequire(import.meta.url);\n";
for (const file of Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'))) {
  const path = join(root, file);
  const code = readFileSync(path, 'utf8');
  if (!/(?<![\w$.])require\b/.test(code)) continue;
  const hashbang = code.startsWith('#!') ? code.slice(0, code.indexOf('\n') + 1) : '';
  writeFileSync(path, hashbang + REQUIRE_LINE + code.slice(hashbang.length));
  const map = JSON.parse(readFileSync(`${path}.map`, 'utf8'));
  writeFileSync(`${path}.map`, JSON.stringify({ ...map, mappings: `;${map.mappings}` }));
}
chmodSync(join(dist, 'bin.js'), 0o755);
// For size analysis (e.g. https://esbuild.github.io/analyze/): LLEM_BUNDLE_METAFILE=/tmp/meta.json pnpm build
if (process.env.LLEM_BUNDLE_METAFILE)
  writeFileSync(process.env.LLEM_BUNDLE_METAFILE, JSON.stringify(result.metafile));

// The PyTorch backend's assets, laid out as in its package (the Docker build context is this folder).
const pytorch = packageDir('@llem/backend-pytorch');
const assets = join(dist, PYTORCH_ASSETS);
const noBytecode = (src) => !/__pycache__|\.pyc$/.test(src);
for (const path of [
  'harness/llem_harness',
  'harness/provision.sh',
  'harness/requirements.txt',
  'harness/requirements-test.txt',
  'docker',
]) {
  if (!existsSync(join(pytorch, path))) throw new Error(`bundle: @llem/backend-pytorch has no ${path}`);
  mkdirSync(join(assets, path, '..'), { recursive: true });
  cpSync(join(pytorch, path), join(assets, path), { recursive: true, filter: noBytecode });
}

// The licences of the third-party code inside the bundle (MIT and friends ask for their notices).
const bundled = new Set();
for (const input of [...Object.keys(result.metafile.inputs), ...Object.keys(workload.metafile.inputs)]) {
  const match = /^(.*[\\/]node_modules[\\/](?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(input);
  if (match) bundled.add(join(root, match[1]));
}
const notices = [...bundled]
  .map((dir) => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    const text = file ? readFileSync(join(dir, file), 'utf8').trim() : `License: ${pkg.license ?? 'unknown'}`;
    return { id: `${pkg.name}@${pkg.version}`, text };
  })
  .sort((a, b) => a.id.localeCompare(b.id));
writeFileSync(
  join(dist, 'THIRD-PARTY-LICENSES.txt'),
  `Third-party code bundled into @llem/cli (dist/*.js):\n\n${notices.map((n) => `## ${n.id}\n\n${n.text}\n`).join('\n')}`,
);

const files = readdirSync(dist).filter((f) => f.endsWith('.js'));
const bytes = files.reduce((sum, f) => sum + readFileSync(join(dist, f)).length, 0);
console.log(
  `bundled ${relative(process.cwd(), join(dist, 'bin.js')) || 'dist/bin.js'}: ${files.length} files, ${(bytes / 1024).toFixed(0)} KiB`,
);
