import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { builtinPlugins } from '@llem/core/orchestration';
import { afterAll, describe, expect, it } from 'vitest';
import { cliBuiltins } from '../src/compose.js';
import { binPath, repoRoot, sandbox } from './llem.js';

/**
 * The bundled `llem` (scripts/bundle.mjs): what each command loads, and the built-in plugin list.
 * No timings here (`pnpm bench cli` measures them): these check the structure that makes it fast.
 */

const box = sandbox();
afterAll(() => box.remove());

/** A module hook that prints every file the ESM loader loads, one `LOADED <url>` line on stderr. */
const hooks = box.write(
  'hooks.mjs',
  [
    'export async function load(url, context, next) {',
    "  if (url.startsWith('file:')) process.stderr.write('LOADED ' + url + '\\n');",
    '  return next(url, context);',
    '}',
    '',
  ].join('\n'),
);
const register = box.write(
  'register.mjs',
  `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
);

/** The files `llem <args>` loads, in order, and their text. */
function loadedBy(args: string[]): { files: string[]; text: string } {
  const r = spawnSync(process.execPath, ['--import', register, binPath, ...args], {
    cwd: repoRoot,
    env: box.env,
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  const files = r.stderr
    .split('\n')
    .filter((line) => line.startsWith('LOADED '))
    .map((line) => fileURLToPath(line.slice('LOADED '.length)));
  return { files, text: files.map((file) => readFileSync(file, 'utf8')).join('\n') };
}

describe('the bundled llem', () => {
  it('is one folder of ESM files: dist/bin.js and its chunks, nothing from node_modules at start', () => {
    const { files } = loadedBy(['--help']);
    const dist = join(repoRoot, 'packages/cli/dist');
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(file.startsWith(`${dist}/`), file).toBe(true);
  });

  it('`llem --version` loads no command parser', () => {
    const { files, text } = loadedBy(['--version']);
    expect(files[0]).toBe(binPath);
    expect(text).not.toContain('CommanderError');
  });

  it('`llem config validate` loads no state store, runner, orchestrator or DI container', () => {
    const markers = [
      /tsyringe requires a reflect polyfill/,
      /\bExperimentOrchestrator\s*=\s*class\b|\bclass ExperimentOrchestrator\b/,
      /\bProcessGroupRunner\s*=\s*class\b|\bclass ProcessGroupRunner\b/,
      /from\s*"better-sqlite3"/,
    ];
    const dist = join(repoRoot, 'packages/cli/dist');
    const everything = readdirSync(dist)
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(dist, f), 'utf8'))
      .join('\n');
    const { text } = loadedBy(['config', 'validate', 'examples/quickstart.yaml']);
    expect(text).toContain('CommanderError');
    for (const marker of markers) {
      expect(everything, String(marker)).toMatch(marker);
      expect(text, String(marker)).not.toMatch(marker);
    }
  });
});

describe('the report charts (vega, vega-lite)', () => {
  it('are in the bundle, but neither `llem --version` nor `llem config validate` loads them', () => {
    const markers = [/vega\.github\.io\/schema\/vega\/v\d/, /Unrecognized scale type/];
    const dist = join(repoRoot, 'packages/cli/dist');
    const everything = readdirSync(dist)
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(dist, f), 'utf8'))
      .join('\n');
    const loaded = [
      loadedBy(['--version']).text,
      loadedBy(['config', 'validate', 'examples/quickstart.yaml']).text,
    ];
    for (const marker of markers) {
      expect(everything, String(marker)).toMatch(marker);
      for (const text of loaded) expect(text, String(marker)).not.toMatch(marker);
    }
  });
});

describe('the CLI built-in plugins', () => {
  it("are core's built-ins, every kind and name (compose.ts spells each import out)", () => {
    const ours = cliBuiltins();
    const core = builtinPlugins();
    for (const kind of Object.keys(core) as (keyof typeof core)[])
      expect(Object.keys(ours[kind] ?? {}).sort(), kind).toEqual(Object.keys(core[kind] ?? {}).sort());
    expect(Object.keys(ours).sort()).toEqual(Object.keys(core).sort());
  });

  it('each loads a plugin of its kind and name', async () => {
    for (const [kind, loaders] of Object.entries(cliBuiltins()))
      for (const [name, load] of Object.entries(loaders ?? {})) {
        const plugin = await load();
        expect({ kind: plugin.kind, name: plugin.name }).toEqual({ kind, name });
      }
  });
});
