import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, messageOf } from '../errors.js';
import type { StateStore } from '../state/store.js';
import type { BackendCatalog, BackendPlugin } from './backend.js';
import type { EnergyMeterFactory } from './energy.js';
import type { StudyExecutor } from './executor.js';
import type { Runner } from './runner.js';

/**
 * Plugins by name, loaded lazily (unstorage-style name → module map, plus conventional
 * package names). A plugin module default-exports (or exports as `plugin`) a `LlemPlugin`.
 *
 * Lookup for `<kind>` named `<name>`: built-ins → modules listed under `plugins:` / LLEM_PLUGINS
 * (matched by the name they declare) → package `llem-<kind>-<name>` → `@<scope>/llem-<kind>-<name>`
 * in any scope of the nearest node_modules folders.
 */
export const PLUGIN_KINDS = ['backend', 'store', 'runner', 'executor', 'energy'] as const;
export type PluginKind = (typeof PLUGIN_KINDS)[number];

export interface PluginInstances {
  backend: BackendPlugin;
  store: StateStore;
  runner: Runner;
  executor: StudyExecutor;
  energy: EnergyMeterFactory;
}

/**
 * What `create` is given: the same bag for every plugin of a composition (createLlem), so a
 * plugin takes what it knows and ignores the rest. Third-party plugins may read their own keys.
 */
export interface PluginOptions {
  /** The state store's directory (stores keep their records here; caches live beside it). */
  dir?: string;
  /** The harness Python for backends that run one (LLEM_PYTHON, defaults.python). */
  python?: string | null;
  /** Where `python` was set, as the user knows it (`LLEM_PYTHON`, `defaults.python in <file>`), for messages. */
  pythonSetting?: string;
  /** A dry run: create without provisioning anything. */
  dryRun?: boolean;
  /** GPUs of this process's allocation (a Slurm job), for experiments that name none. */
  gpuIndices?: readonly number[] | null;
  /** Executor settings (e.g. the slurm job shape) from --executor-config and --executor-option. */
  executor?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface LlemPlugin<K extends PluginKind = PluginKind> {
  kind: K;
  name: string;
  create(options?: PluginOptions): PluginInstances[K] | Promise<PluginInstances[K]>;
}

/** Identity helper that types a plugin definition. */
export function definePlugin<K extends PluginKind>(plugin: LlemPlugin<K>): LlemPlugin<K> {
  return plugin;
}

export type PluginLoader = () => Promise<LlemPlugin>;

/**
 * llem's own plugins by kind and name, as package names (unstorage-style): core imports none of
 * them; a registry finds each where it is installed, when a config or flag names it.
 */
export const BUILTIN_PLUGIN_PACKAGES: Readonly<
  Partial<Record<PluginKind, Readonly<Record<string, string>>>>
> = {
  backend: { pytorch: '@llem/backend-pytorch', openai: '@llem/backend-openai', vllm: '@llem/backend-vllm' },
  store: { sqlite: '@llem/state-sqlite', fs: '@llem/state-fs' },
  runner: { local: '@llem/runner-node' },
  executor: { slurm: '@llem/executor-slurm' },
  energy: { default: '@llem/energy' },
};

/** The plugin a loaded module exports (default export, or `plugin`), checked against what was asked. */
export function pluginOf(
  mod: Record<string, unknown>,
  label: string,
  kind?: PluginKind,
  name?: string,
): LlemPlugin {
  const candidate = mod.default ?? mod.plugin;
  if (!isPlugin(candidate)) {
    throw new ConfigError(
      `Plugin ${label} does not export a plugin (default export or \`plugin\` with kind, name, create).`,
      {
        fix: "Export `definePlugin({ kind: 'backend', name, create })` from @llem/core as the module's default export.",
      },
    );
  }
  if ((kind && candidate.kind !== kind) || (name && candidate.name !== name))
    throw new ConfigError(
      `Plugin at ${label} declares ${candidate.kind} '${candidate.name}', expected ${kind} '${name}'.`,
    );
  return candidate;
}

/**
 * A loader for a built-in plugin package: imported by name from where llem is installed. A package
 * that is not installed is a ConfigError saying which one to install.
 */
export function packageLoader(spec: string, kind: PluginKind, name: string): PluginLoader {
  return async () => {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(spec)) as Record<string, unknown>;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' && messageOf(error).includes(spec))
        throw new ConfigError(`The ${kind} '${name}' needs the package ${spec}, which is not installed.`, {
          fix: `npm install ${spec}`,
        });
      throw new ConfigError(`Plugin ${spec} failed to load: ${messageOf(error)}`, { cause: error });
    }
    return pluginOf(mod, spec, kind, name);
  };
}

export interface PluginRegistryOptions {
  builtins?: Partial<Record<PluginKind, Record<string, PluginLoader>>>;
  /** Module paths or package names from config `plugins:` and LLEM_PLUGINS. */
  modules?: readonly string[];
  /** Where relative module paths and node_modules lookups start. */
  cwd?: string;
  /** Given to every plugin's `create` when `get` is called without options. */
  pluginOptions?: PluginOptions;
}

/** Splits LLEM_PLUGINS (comma- or colon-separated). */
export function pluginsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.LLEM_PLUGINS ?? '')
    .split(/[,:]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function nodeModulesDirs(start: string): string[] {
  const dirs: string[] = [];
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules');
    if (existsSync(candidate)) dirs.push(candidate);
    if (dirname(dir) === dir) return dirs;
  }
}

/** The ESM entry of an installed package directory (exports["."] import/default, else main). */
function packageEntry(packageDir: string): string | undefined {
  const manifestPath = join(packageDir, 'package.json');
  if (!existsSync(manifestPath)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    exports?: unknown;
    main?: string;
    module?: string;
  };
  const pick = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value;
    if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      for (const key of ['.', 'import', 'node', 'default']) if (key in record) return pick(record[key]);
    }
    return undefined;
  };
  const entry = pick(manifest.exports) ?? manifest.module ?? manifest.main ?? 'index.js';
  return join(packageDir, entry);
}

function isPlugin(value: unknown): value is LlemPlugin {
  const v = value as LlemPlugin | undefined;
  return (
    !!v &&
    typeof v === 'object' &&
    typeof v.name === 'string' &&
    typeof v.create === 'function' &&
    (PLUGIN_KINDS as readonly string[]).includes(v.kind)
  );
}

async function importPlugin(file: string, label: string): Promise<LlemPlugin> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`Plugin ${label} failed to load: ${messageOf(error)}`, {
      fix: 'Check that the module builds and its dependencies are installed.',
      cause: error,
    });
  }
  return pluginOf(mod, label);
}

export class PluginRegistry {
  private readonly cwd: string;
  private readonly moduleSpecs: string[];
  private readonly cache = new Map<string, Promise<unknown>>();
  private listedModules: Promise<LlemPlugin[]> | undefined;

  constructor(private readonly options: PluginRegistryOptions = {}) {
    this.cwd = options.cwd ?? process.cwd();
    this.moduleSpecs = [...(options.modules ?? [])];
  }

  /**
   * Adds plugin modules listed in a config file (`plugins:`). Relative paths resolve against
   * `baseDir` (the config file's folder), so a study runs the same from any working directory.
   */
  addModules(specs: readonly string[], baseDir: string = this.cwd): void {
    const fresh = specs
      .map((spec) => (spec.startsWith('.') ? resolve(baseDir, spec) : spec))
      .filter((spec) => !this.moduleSpecs.includes(spec));
    if (fresh.length === 0) return;
    this.moduleSpecs.push(...fresh);
    this.listedModules = undefined;
  }

  /** What `get` gives a plugin's `create` when called without options (a copy). */
  defaultOptions(): PluginOptions {
    return { ...this.options.pluginOptions };
  }

  /** The plugin modules listed so far (config `plugins:`, LLEM_PLUGINS), absolute paths or package names. */
  modules(): string[] {
    return [...this.moduleSpecs];
  }

  builtinNames(kind: PluginKind): string[] {
    return Object.keys(this.options.builtins?.[kind] ?? {});
  }

  /** Loads and instantiates the plugin; the same (kind, name) is created once per registry. */
  async get<K extends PluginKind>(
    kind: K,
    name: string,
    createOptions?: PluginOptions,
  ): Promise<PluginInstances[K]> {
    const options = createOptions ?? this.options.pluginOptions;
    const key = `${kind}:${name}:${JSON.stringify(options ?? {})}`;
    let pending = this.cache.get(key);
    if (!pending) {
      pending = this.find(kind, name).then((plugin) => plugin.create(options));
      this.cache.set(key, pending);
      pending.catch(() => this.cache.delete(key));
    }
    return pending as Promise<PluginInstances[K]>;
  }

  /** A synchronous catalog of the named backends, loaded up front (config validation needs one). */
  async backendCatalog(names: Iterable<string>): Promise<BackendCatalog> {
    const loaded = new Map<string, BackendPlugin>();
    for (const name of new Set(names)) loaded.set(name, await this.get('backend', name));
    const known = new Set([...this.builtinNames('backend'), ...loaded.keys()]);
    return { get: (name) => loaded.get(name), names: () => [...known].sort() };
  }

  private async find(kind: PluginKind, name: string): Promise<LlemPlugin> {
    const tried: string[] = [];
    const builtin = this.options.builtins?.[kind]?.[name];
    if (builtin) return builtin();
    tried.push(`built-in ${kind}s (${this.builtinNames(kind).join(', ') || 'none'})`);

    const listed = (await this.loadListedModules()).find((p) => p.kind === kind && p.name === name);
    if (listed) return listed;
    tried.push(`plugins listed in config/LLEM_PLUGINS (${this.moduleSpecs.join(', ') || 'none'})`);

    const packageName = `llem-${kind}-${name}`;
    for (const modules of nodeModulesDirs(this.cwd)) {
      const dirs = [join(modules, packageName)];
      for (const entry of readdirSync(modules))
        if (entry.startsWith('@')) dirs.push(join(modules, entry, packageName));
      for (const dir of dirs) {
        const file = packageEntry(dir);
        if (file) return this.checked(await importPlugin(file, dir), kind, name, dir);
      }
    }
    tried.push(`packages ${packageName} and @<scope>/${packageName} above ${this.cwd}`);
    const builtins = this.builtinNames(kind);
    throw new ConfigError(`Unknown ${kind} '${name}'. Tried ${tried.join('; ')}.`, {
      fix:
        (builtins.length ? `Use one of: ${builtins.join(', ')}; or install ` : 'Install ') +
        `the package ${packageName}, or list the plugin module under \`plugins:\` in the config or in LLEM_PLUGINS.`,
    });
  }

  private checked(plugin: LlemPlugin, kind: PluginKind, name: string, where: string): LlemPlugin {
    if (plugin.kind !== kind || plugin.name !== name) {
      throw new ConfigError(
        `Plugin at ${where} declares ${plugin.kind} '${plugin.name}', expected ${kind} '${name}'.`,
      );
    }
    return plugin;
  }

  private loadListedModules(): Promise<LlemPlugin[]> {
    this.listedModules ??= Promise.all(
      this.moduleSpecs.map(async (spec) => {
        const path = isAbsolute(spec) || spec.startsWith('.') ? resolve(this.cwd, spec) : undefined;
        if (path) {
          if (!existsSync(path))
            throw new ConfigError(`Plugin module ${spec} not found (resolved to ${path}).`);
          return importPlugin(path, spec);
        }
        for (const modules of nodeModulesDirs(this.cwd)) {
          const file = packageEntry(join(modules, spec));
          if (file) return importPlugin(file, spec);
        }
        throw new ConfigError(
          `Plugin package ${spec} is not installed (looked in node_modules above ${this.cwd}).`,
          {
            fix: `npm install ${spec}`,
          },
        );
      }),
    );
    return this.listedModules;
  }
}
