import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { type LlemPlugin, PluginRegistry, pluginsFromEnv } from '../src/plugins/registry.js';

/**
 * PluginRegistry against real files: a temp project with ESM packages in node_modules (exports
 * maps, scopes), plugin modules named by path, and broken or mislabelled ones.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'llem-plugins-'));
  dirs.push(dir);
  return dir;
}

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** A plugin module whose instance reports where it came from. */
function pluginSource(kind: string, name: string, origin: string, exportName = 'default'): string {
  const body = `{ kind: ${JSON.stringify(kind)}, name: ${JSON.stringify(name)}, create: (options) => ({ name: ${JSON.stringify(name)}, origin: ${JSON.stringify(origin)}, options }) }`;
  return exportName === 'default' ? `export default ${body};\n` : `export const ${exportName} = ${body};\n`;
}

/** An installed ESM package whose entry is reached through an exports map. */
function installPackage(root: string, packageName: string, source: string, exportsField?: unknown): string {
  const dir = join(root, 'node_modules', ...packageName.split('/'));
  write(
    join(dir, 'package.json'),
    JSON.stringify({
      name: packageName,
      version: '1.0.0',
      type: 'module',
      exports: exportsField ?? { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
    }),
  );
  write(join(dir, 'dist/index.js'), source);
  return dir;
}

interface Tagged {
  name: string;
  origin: string;
  options?: Record<string, unknown>;
}

async function get(
  registry: PluginRegistry,
  kind: 'backend' | 'store' | 'runner',
  name: string,
): Promise<Tagged> {
  return (await registry.get(kind, name)) as unknown as Tagged;
}

async function failure(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('PluginRegistry', () => {
  it('finds llem-backend-<name> and @<scope>/llem-backend-<name> packages through their exports map', async () => {
    const root = project();
    installPackage(root, 'llem-backend-x', pluginSource('backend', 'x', 'unscoped'));
    installPackage(root, '@acme/llem-backend-y', pluginSource('backend', 'y', 'scoped'), {
      '.': { import: { types: './dist/index.d.ts', default: './dist/index.js' } },
    });
    const registry = new PluginRegistry({ cwd: root });
    expect(await get(registry, 'backend', 'x')).toMatchObject({ name: 'x', origin: 'unscoped' });
    expect(await get(registry, 'backend', 'y')).toMatchObject({ name: 'y', origin: 'scoped' });
  });

  it('looks in node_modules folders above the working directory', async () => {
    const root = project();
    installPackage(root, 'llem-backend-x', pluginSource('backend', 'x', 'above'));
    const nested = join(root, 'studies', 'a');
    mkdirSync(nested, { recursive: true });
    expect(await get(new PluginRegistry({ cwd: nested }), 'backend', 'x')).toMatchObject({ origin: 'above' });
  });

  it('resolves stores and runners by name with their create options', async () => {
    const root = project();
    installPackage(root, 'llem-store-redis', pluginSource('store', 'redis', 'store-package'));
    installPackage(root, '@acme/llem-runner-slurm', pluginSource('runner', 'slurm', 'runner-package'));
    const registry = new PluginRegistry({ cwd: root });
    const store = (await registry.get('store', 'redis', { dir: '/state' })) as unknown as Tagged;
    expect(store).toMatchObject({ name: 'redis', origin: 'store-package', options: { dir: '/state' } });
    expect(await get(registry, 'runner', 'slurm')).toMatchObject({ name: 'slurm', origin: 'runner-package' });
  });

  it('loads modules listed under plugins: (relative to cwd) and in LLEM_PLUGINS, matched by declared name', async () => {
    const root = project();
    write(join(root, 'plugins/mine.mjs'), pluginSource('backend', 'mine', 'config-path'));
    write(join(root, 'lib/queue-store.mjs'), pluginSource('store', 'queue', 'env-path', 'plugin'));
    installPackage(root, 'some-unconventional-name', pluginSource('runner', 'remote', 'listed-package'));
    const fromEnv = pluginsFromEnv({
      LLEM_PLUGINS: ` ${join(root, 'lib/queue-store.mjs')} , some-unconventional-name`,
    });
    expect(fromEnv).toEqual([join(root, 'lib/queue-store.mjs'), 'some-unconventional-name']);
    const registry = new PluginRegistry({ cwd: root, modules: ['./plugins/mine.mjs', ...fromEnv] });
    expect(await get(registry, 'backend', 'mine')).toMatchObject({ origin: 'config-path' });
    expect(await get(registry, 'store', 'queue')).toMatchObject({ origin: 'env-path' });
    expect(await get(registry, 'runner', 'remote')).toMatchObject({ origin: 'listed-package' });
  });

  it('adds modules listed in a config file, relative to that file, after a lookup already ran', async () => {
    const root = project();
    write(join(root, 'studies/plugins/late.mjs'), pluginSource('backend', 'late', 'config-file'));
    const registry = new PluginRegistry({ cwd: root });
    await failure(registry.get('backend', 'late'));
    registry.addModules(['./plugins/late.mjs'], join(root, 'studies'));
    registry.addModules(['./plugins/late.mjs'], join(root, 'studies'));
    expect(await get(registry, 'backend', 'late')).toMatchObject({ origin: 'config-file' });
    const unknown = await failure(registry.get('backend', 'other'));
    expect(unknown.message).toContain(join(root, 'studies/plugins/late.mjs'));
    expect(unknown.message.split(join(root, 'studies/plugins/late.mjs')).length).toBe(2);
  });

  it('prefers built-ins, then listed modules, then packages', async () => {
    const root = project();
    installPackage(root, 'llem-backend-pytorch', pluginSource('backend', 'pytorch', 'impostor-package'));
    installPackage(root, 'llem-backend-x', pluginSource('backend', 'x', 'package'));
    write(join(root, 'x.mjs'), pluginSource('backend', 'x', 'listed'));
    const builtin: LlemPlugin<'backend'> = {
      kind: 'backend',
      name: 'pytorch',
      create: () => ({ name: 'pytorch', origin: 'builtin' }) as never,
    };
    const registry = new PluginRegistry({
      cwd: root,
      modules: ['./x.mjs'],
      builtins: { backend: { pytorch: async () => builtin } },
    });
    expect(await get(registry, 'backend', 'pytorch')).toMatchObject({ origin: 'builtin' });
    expect(await get(registry, 'backend', 'x')).toMatchObject({ origin: 'listed' });
  });

  it('creates each (kind, name, options) once and imports nothing that is not asked for', async () => {
    const root = project();
    installPackage(root, 'llem-backend-x', pluginSource('backend', 'x', 'package'));
    installPackage(root, 'llem-backend-broken', 'throw new Error("imported although nobody asked");\n');
    const registry = new PluginRegistry({ cwd: root });
    const a = await registry.get('backend', 'x');
    expect(await registry.get('backend', 'x')).toBe(a);
    const catalog = await registry.backendCatalog(['x']);
    expect(catalog.get('x')).toBe(a);
    expect(catalog.get('broken')).toBeUndefined();
  });

  it('names everything it tried for an unknown plugin, with a fix', async () => {
    const root = project();
    const registry = new PluginRegistry({
      cwd: root,
      modules: [],
      builtins: {
        backend: { pytorch: async () => ({ kind: 'backend', name: 'pytorch', create: () => ({}) as never }) },
      },
    });
    const error = await failure(registry.get('backend', 'vllm'));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain("Unknown backend 'vllm'");
    expect(error.message).toContain('built-in backends (pytorch)');
    expect(error.message).toContain('LLEM_PLUGINS');
    expect(error.message).toContain('llem-backend-vllm');
    expect(error.message).toContain('@<scope>/llem-backend-vllm');
    expect(error.message).toContain(root);
    expect(error.fix).toContain('pytorch');
    expect(error.fix).toContain('llem-backend-vllm');

    const store = await failure(new PluginRegistry({ cwd: root }).get('store', 'redis'));
    expect(store.message).toContain('llem-store-redis');
  });

  it('turns a module that throws on import into a ConfigError naming the package', async () => {
    const root = project();
    const dir = installPackage(root, 'llem-backend-broken', 'throw new Error("missing native addon");\n');
    const error = await failure(new PluginRegistry({ cwd: root }).get('backend', 'broken'));
    expect(error.message).toContain(dir);
    expect(error.message).toContain('missing native addon');
    expect(error.fix).toBeTruthy();
  });

  it('refuses a module that exports no plugin, or declares another kind or name', async () => {
    const root = project();
    installPackage(root, 'llem-backend-empty', 'export const nothing = 1;\n');
    installPackage(root, 'llem-backend-misnamed', pluginSource('backend', 'other', 'package'));
    installPackage(root, 'llem-backend-wrongkind', pluginSource('store', 'wrongkind', 'package'));
    const registry = new PluginRegistry({ cwd: root });
    expect((await failure(registry.get('backend', 'empty'))).message).toContain('does not export a plugin');
    const misnamed = await failure(registry.get('backend', 'misnamed'));
    expect(misnamed.message).toContain("declares backend 'other', expected backend 'misnamed'");
    const wrongKind = await failure(registry.get('backend', 'wrongkind'));
    expect(wrongKind.message).toContain("declares store 'wrongkind', expected backend 'wrongkind'");
  });

  it('reports a listed module path that does not exist or a listed package that is not installed', async () => {
    const root = project();
    const missingPath = await failure(
      new PluginRegistry({ cwd: root, modules: ['./nope.mjs'] }).get('backend', 'x'),
    );
    expect(missingPath.message).toContain('./nope.mjs');
    expect(missingPath.message).toContain(join(root, 'nope.mjs'));
    const missingPackage = await failure(
      new PluginRegistry({ cwd: root, modules: ['llem-backend-absent'] }).get('backend', 'absent'),
    );
    expect(missingPackage.message).toContain('llem-backend-absent is not installed');
  });

  it('recovers after a failed lookup once the package is installed', async () => {
    const root = project();
    const registry = new PluginRegistry({ cwd: root });
    await failure(registry.get('backend', 'late'));
    installPackage(root, 'llem-backend-late', pluginSource('backend', 'late', 'installed-later'));
    expect(await get(registry, 'backend', 'late')).toMatchObject({ origin: 'installed-later' });
  });
});
