import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BackendCatalog,
  ConfigError,
  createContainer,
  didYouMean,
  type EnergyMeter,
  type ExperimentConfigBase,
  isConfigError,
  type LlemPlugin,
  type Logger,
  messageOf,
  PluginRegistry,
  type Runner,
  type StateStore,
} from '@llem/core';

type DependencyContainer = ReturnType<typeof createContainer>;

import { type Settings, STORE_NAMES } from './settings.js';

/**
 * The composition root: the only place that knows which package implements which contract.
 * Everything is imported lazily, by name, so a command loads only what it uses.
 */

export const BUILTIN_BACKENDS = ['pytorch'] as const;

/** Built-in plugins by kind and name; third-party ones are found by PluginRegistry's lookup rules. */
export function createRegistry(
  settings: Pick<Settings, 'plugins' | 'python'>,
  options: { dryRun?: boolean; cwd?: string } = {},
): PluginRegistry {
  return new PluginRegistry({
    cwd: options.cwd ?? process.cwd(),
    modules: settings.plugins,
    builtins: {
      backend: {
        pytorch: async () => {
          const { createPytorchBackend, provisionedPythonPath } = await import('@llem/backend-pytorch');
          // A dry run must not provision the venv: it names the python a real run would use.
          const python = settings.python.value ?? (options.dryRun ? provisionedPythonPath() : undefined);
          return {
            kind: 'backend',
            name: 'pytorch',
            create: () => createPytorchBackend({ python }),
          } satisfies LlemPlugin<'backend'>;
        },
      },
      store: {
        sqlite: async () => {
          const { createSqliteStateStore, DEFAULT_DB_NAME } = await import('@llem/state-sqlite');
          return {
            kind: 'store',
            name: 'sqlite',
            create: (options) =>
              createSqliteStateStore({ path: join(String(options?.dir), DEFAULT_DB_NAME) }),
          } satisfies LlemPlugin<'store'>;
        },
        fs: async () => {
          const { createFsStateStore } = await import('@llem/state-fs');
          return {
            kind: 'store',
            name: 'fs',
            create: (options) => createFsStateStore({ dir: String(options?.dir) }),
          } satisfies LlemPlugin<'store'>;
        },
      },
      runner: {
        local: async () => {
          const { ProcessGroupRunner } = await import('@llem/runner-node');
          return {
            kind: 'runner',
            name: 'local',
            create: () => new ProcessGroupRunner(),
          } satisfies LlemPlugin<'runner'>;
        },
        slurm: async () => (await import('@llem/runner-slurm')).default,
      },
    },
  });
}

/** Opens the state store the settings name, creating its directory. */
export async function openStore(
  settings: Pick<Settings, 'store' | 'stateDir' | 'plugins' | 'python'>,
  registry = createRegistry(settings),
): Promise<StateStore> {
  mkdirSync(settings.stateDir.value, { recursive: true, mode: 0o700 });
  try {
    return await registry.get('store', settings.store.value, { dir: settings.stateDir.value });
  } catch (error) {
    if (!isConfigError(error) || !error.message.startsWith('Unknown store')) throw error;
    // Say which setting named it: a typo in LLEM_STORE should be found where it was made.
    const { source, value } = settings.store;
    const where = source === 'flag' ? '--store' : source === 'env' ? 'LLEM_STORE' : 'defaults.store';
    throw new ConfigError(
      `${where}: '${value}' is not one of ${STORE_NAMES.join(', ')}, nor an installed store plugin. ${error.message}`,
      { fix: error.fix },
    );
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
    const name = /Unknown backend '([^']+)'/.exec(messageOf(error))?.[1];
    const hint = name ? didYouMean(name, registry.builtinNames('backend')) : undefined;
    if (name && hint) {
      throw new ConfigError(
        `${source ? `${source}: ` : ''}backend: unknown backend '${name}' (did you mean '${hint}'?)`,
        {
          fix: `Set backend: ${hint}, or install the plugin package llem-backend-${name}.`,
        },
      );
    }
    throw error;
  }
}

export interface Composition {
  container: DependencyContainer;
  store: StateStore;
  runner: Runner;
  backends: BackendCatalog;
  energyMeter: EnergyMeter | undefined;
  close(): Promise<void>;
}

export interface ComposeOptions {
  settings: Settings;
  backends: BackendCatalog;
  registry: PluginRegistry;
  /** The energy section the meter follows (sampling interval, samplers, TDP); none: no meter. */
  energyConfig?: ExperimentConfigBase['energy'];
  gpuIndices?: readonly number[];
  logger?: Logger;
  /** Where idle baselines are cached (default: <stateDir>/baselines). */
  baselineCacheDir?: string;
}

/** Builds the DI container for a run: store, runner, backends, energy meter, clock, logger. */
export async function compose(options: ComposeOptions): Promise<Composition> {
  const { settings, registry, backends } = options;
  const [store, runner, energy] = await Promise.all([
    openStore(settings, registry),
    registry.get('runner', 'local'),
    options.energyConfig ? import('@llem/energy') : undefined,
  ]);
  const energyMeter =
    energy && options.energyConfig
      ? energy.createEnergyMeter(options.energyConfig, {
          cacheDir: options.baselineCacheDir ?? join(settings.stateDir.value, 'baselines'),
          gpuIndices: options.gpuIndices,
        })
      : undefined;
  const container = createContainer({
    stateStore: store,
    runner,
    backends,
    energyMeter,
    logger: options.logger,
  });
  return { container, store, runner, backends, energyMeter, close: () => store.close() };
}
