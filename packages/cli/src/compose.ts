import { fileURLToPath } from 'node:url';
import {
  type BackendCatalog,
  type BackendPlugin,
  ConfigError,
  didYouMean,
  isConfigError,
  type Llem,
  type LlemPlugin,
  type Logger,
  type PluginLoader,
  type PluginOptions,
  PluginRegistry,
  type StateStore,
} from '@llem/core';
import type { LlemOptions } from '@llem/core/orchestration';
import type { z } from 'zod';
import { type Settings, STORE_NAMES, whereSet } from './settings.js';

/**
 * The CLI's side of the composition root (createLlem): which plugins it ships with, and how its
 * settings become plugin options. Every package is imported lazily, by name, when a config or flag
 * first asks for it, so a command loads only what it uses (`llem config validate` loads no store,
 * runner or orchestrator). Nothing here knows what a backend, store or executor does.
 */

type Loaders = Partial<Record<LlemPlugin['kind'], Record<string, PluginLoader>>>;

const defaultExport =
  (load: () => Promise<{ default: unknown }>): PluginLoader =>
  async () =>
    (await load()).default as LlemPlugin;

/**
 * The plugins bundled with the CLI: core's list (BUILTIN_PLUGIN_PACKAGES, plus its own `local`
 * executor), each import spelled out for the bundler. test/bundle.test.ts checks the two lists agree.
 */
export function cliBuiltins(): Loaders {
  return {
    backend: {
      pytorch: defaultExport(() => import('@llem/backend-pytorch')),
      openai: defaultExport(() => import('@llem/backend-openai')),
      vllm: defaultExport(() => import('@llem/backend-vllm')),
    },
    store: {
      sqlite: defaultExport(() => import('@llem/state-sqlite')),
      fs: defaultExport(() => import('@llem/state-fs')),
    },
    runner: { local: defaultExport(() => import('@llem/runner-node')) },
    executor: {
      local: async () => (await import('./orchestration.js')).builtinPlugins().executor!.local!(),
      slurm: defaultExport(() => import('@llem/executor-slurm')),
    },
    energy: { default: defaultExport(() => import('@llem/energy')) },
  };
}

/** The config section of each built-in backend, by its name (`llem config schema`). */
export async function builtinBackendSections(): Promise<Record<string, z.ZodType>> {
  const sections: Record<string, z.ZodType> = {};
  for (const [name, load] of Object.entries(cliBuiltins().backend ?? {})) {
    const backend = (await (await load()).create()) as BackendPlugin;
    sections[name] = backend.configSchema as z.ZodType;
  }
  return sections;
}

export interface RegistryOptions {
  dryRun?: boolean;
  cwd?: string;
  /** Executor options (--executor-config, --executor-option and the old slurm flags). */
  executor?: Record<string, unknown>;
  /** The GPUs of this process's allocation (`llem exec` on a Slurm node). */
  gpuIndices?: readonly number[] | null;
}

/** The registry: built-ins, then `plugins:` / LLEM_PLUGINS modules, then llem-<kind>-<name> packages. */
export function createRegistry(
  settings: Pick<Settings, 'plugins' | 'python' | 'stateDir'> & Partial<Pick<Settings, 'userConfigPath'>>,
  options: RegistryOptions = {},
): PluginRegistry {
  const { source } = settings.python;
  const pluginOptions: PluginOptions = {
    dir: settings.stateDir.value,
    python: settings.python.value,
    ...(settings.python.value && source !== 'default'
      ? {
          pythonSetting:
            source === 'user-config' && settings.userConfigPath
              ? `defaults.python in ${settings.userConfigPath}`
              : whereSet('python', source),
        }
      : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.executor ? { executor: options.executor } : {}),
    ...(options.gpuIndices ? { gpuIndices: options.gpuIndices } : {}),
  };
  return new PluginRegistry({
    cwd: options.cwd ?? process.cwd(),
    modules: settings.plugins,
    builtins: cliBuiltins(),
    pluginOptions,
  });
}

/** Rewrites "Unknown store" to name the setting that chose it: a typo in LLEM_STORE is found where it was made. */
function storeSettingError(settings: Pick<Settings, 'store'>, error: unknown): unknown {
  if (!isConfigError(error) || !error.message.startsWith('Unknown store')) return error;
  const { source, value } = settings.store;
  const where = source === 'flag' ? '--store' : source === 'env' ? 'LLEM_STORE' : 'defaults.store';
  return new ConfigError(
    `${where}: '${value}' is not one of ${STORE_NAMES.join(', ')}, nor an installed store plugin. ${error.message}`,
    { fix: error.fix },
  );
}

/** Opens the state store the settings name (status, cleanup). */
export async function openStore(
  settings: Pick<Settings, 'store' | 'stateDir' | 'plugins' | 'python'>,
  registry = createRegistry(settings),
): Promise<StateStore> {
  const llem = await composeLlem(settings, registry, { meters: null });
  return llem.store;
}

/**
 * The argv that starts this very llem on another host: LLEM_SLURM_COMMAND (a JSON array) if set,
 * else this Node and this CLI's bin.js by absolute path (llem installed on a shared filesystem).
 */
export function llemCommand(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.LLEM_SLURM_COMMAND) {
    const parsed = JSON.parse(env.LLEM_SLURM_COMMAND) as unknown;
    if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((a) => typeof a === 'string'))
      return parsed;
    throw new ConfigError('LLEM_SLURM_COMMAND must be a JSON array of strings, e.g. ["/opt/llem/bin/llem"].');
  }
  return [process.execPath, fileURLToPath(new URL('./bin.js', import.meta.url))];
}

/** createLlem with the CLI's settings: the store they name, the results directory, this llem's command. */
export async function composeLlem(
  settings: Pick<Settings, 'store' | 'stateDir' | 'plugins' | 'python'> &
    Partial<Pick<Settings, 'resultsDir'>>,
  registry: PluginRegistry,
  options: { logger?: Logger; meters?: LlemOptions['meters'] } = {},
): Promise<Llem> {
  const { createLlem } = await import('./orchestration.js');
  try {
    return await createLlem({
      store: { name: settings.store.value, dir: settings.stateDir.value },
      resultsDir: settings.resultsDir?.value ?? process.cwd(),
      registry,
      llemCommand: llemCommand(),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.meters !== undefined ? { meters: options.meters } : {}),
    });
  } catch (error) {
    throw storeSettingError(settings, error);
  }
}

/** Loads the named backends into a catalog; an unknown name gets a did-you-mean. */
export async function loadBackendCatalog(
  registry: PluginRegistry,
  names: Iterable<string>,
  source?: string,
): Promise<BackendCatalog> {
  try {
    return await registry.backendCatalog(names);
  } catch (error) {
    const name = isConfigError(error) ? /Unknown backend '([^']+)'/.exec(error.message)?.[1] : undefined;
    const hint = name ? didYouMean(name, registry.builtinNames('backend')) : undefined;
    if (name && hint) {
      throw new ConfigError(
        `${source ? `${source}: ` : ''}backend: unknown backend '${name}' (did you mean '${hint}'?)`,
        { fix: `Set backend: ${hint}, or install the plugin package llem-backend-${name}.` },
      );
    }
    throw error;
  }
}
