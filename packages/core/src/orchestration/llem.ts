import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { container as rootContainer } from 'tsyringe';
import { type Clock, systemClock } from '../clock.js';
import { type Logger, silentLogger } from '../di/logger.js';
import { TOKENS } from '../di/tokens.js';
import { ConfigError, isConfigError, messageOf } from '../errors.js';
import type { BackendCatalog, BackendPlugin } from '../plugins/backend.js';
import type { EnergyMeter, EnergyMeterFactory } from '../plugins/energy.js';
import type { ExecuteOptions, ExecutorContext, StoreLocation, StudyExecutor } from '../plugins/executor.js';
import {
  BUILTIN_PLUGIN_PACKAGES,
  type LlemPlugin,
  type PluginLoader,
  type PluginOptions,
  PluginRegistry,
  packageLoader,
  pluginsFromEnv,
} from '../plugins/registry.js';
import type { Runner } from '../plugins/runner.js';
import type { StateStore } from '../state/store.js';
import { ExperimentOrchestrator, type RunReport, type RunRequest } from './experiment-orchestrator.js';
import { LocalExecutor } from './local-executor.js';
import { backendNamesOf, type ExpandOptions, expandStudy, type StudyPlan } from './study-plan.js';
import type { StudySummary } from './study-summary.js';

/**
 * The composition root: the one place where llem's parts are put together, used by the CLI,
 * `llem exec` on a Slurm node, and library users alike. It resolves the store, the runner, the
 * backends (by the names a plan uses), the energy meter factory and the study executor by name
 * through a PluginRegistry (built-in packages found by name, `plugins:`/LLEM_PLUGINS modules,
 * `llem-<kind>-<name>` packages), or takes instances given to it. The DI container lives here and
 * nowhere else.
 */

export interface LlemOptions {
  /** The state store: an instance, or a store plugin's name and directory (created if missing). */
  store: StateStore | StoreLocation;
  /**
   * With a store instance: where other processes (a Slurm job's `llem exec`) open that same store.
   * Executors that start other processes need it; without it they refuse.
   */
  storeLocation?: StoreLocation;
  /** Results root: studies write into `<resultsDir>/<study-id>/`. */
  resultsDir: string;
  /** Plugins by name. Default: the built-in packages, plus the modules in LLEM_PLUGINS. */
  registry?: PluginRegistry;
  /**
   * Given to every plugin's `create`, over the registry's own options (the store's `dir` is set
   * from `store`).
   */
  pluginOptions?: PluginOptions;
  /** The runner. Default: the `local` runner plugin (@llem/runner-node). */
  runner?: Runner;
  /** Backends, instead of loading them by name from the registry. */
  backends?: BackendCatalog;
  /**
   * Energy meters: a factory, one meter for every experiment (`singleMeter`), null to measure no
   * energy, or undefined for the registry's `energy` plugin `default` (@llem/energy; none when it
   * is not installed, and results then say energy was not measured).
   */
  meters?: EnergyMeterFactory | EnergyMeter | null;
  /** Plugin modules another process must load to run these plans (the Slurm executor passes them on). */
  plugins?: readonly string[];
  /** The argv that starts this llem elsewhere (Slurm jobs); default: none (executors needing it refuse). */
  llemCommand?: readonly string[];
  clock?: Clock;
  logger?: Logger;
}

export interface LlemRunOptions extends ExecuteOptions {
  /** The executor: a name (default `local`) resolved through the registry, or an instance. */
  executor?: string | StudyExecutor;
}

export interface Llem {
  readonly store: StateStore;
  readonly storeLocation: StoreLocation | null;
  readonly registry: PluginRegistry;
  /** The backends loaded so far (the orchestrator's catalog). */
  readonly backends: BackendCatalog;
  /** Loads backends by name (a ConfigError names an unknown one and what was tried). */
  loadBackends(names: Iterable<string>): Promise<BackendCatalog>;
  /** Expands a raw experiment or study document, loading the backends it names. */
  plan(document: unknown, options?: Omit<ExpandOptions, 'backends'>): Promise<StudyPlan>;
  /** Runs a plan with an executor (default: here, one run after another). */
  runStudy(plan: StudyPlan, options?: LlemRunOptions): Promise<StudySummary>;
  /** Measures one experiment-cycle here (`llem exec`, the local executor's engine). */
  runExperiment(request: RunRequest): Promise<RunReport>;
  /** The energy meter factory of this process (resolved on first use; null when none). */
  meters(): Promise<EnergyMeterFactory | null>;
  close(): Promise<void>;
}

/** The built-in plugins: our packages by name (found where llem is installed), and the local executor. */
export function builtinPlugins(): Partial<Record<LlemPlugin['kind'], Record<string, PluginLoader>>> {
  const builtins: Partial<Record<LlemPlugin['kind'], Record<string, PluginLoader>>> = {};
  for (const [kind, names] of Object.entries(BUILTIN_PLUGIN_PACKAGES))
    builtins[kind as LlemPlugin['kind']] = Object.fromEntries(
      Object.entries(names).map(([name, spec]) => [
        name,
        packageLoader(spec, kind as LlemPlugin['kind'], name),
      ]),
    );
  builtins.executor = { ...builtins.executor, local: async () => LOCAL_EXECUTOR_PLUGIN };
  return builtins;
}

const LOCAL_EXECUTOR_PLUGIN: LlemPlugin<'executor'> = {
  kind: 'executor',
  name: 'local',
  create: (options) => {
    const given = Object.keys(options?.executor ?? {});
    if (given.length > 0)
      throw new ConfigError(`The local executor takes no options (given: ${given.join(', ')}).`, {
        fix: 'They belong to another executor: add --executor slurm (or the executor they are for).',
      });
    return new LocalExecutor();
  },
};

/** An EnergyMeterFactory that gives one meter to every experiment that measures energy. */
export function singleMeter(meter: EnergyMeter): EnergyMeterFactory {
  return {
    meterFor: (config) => (config.energy.enabled ? meter : null),
    temperatures: meter.temperatures ? () => meter.temperatures!() : undefined,
  };
}

function isStore(value: StateStore | StoreLocation): value is StateStore {
  return typeof (value as StateStore).load === 'function';
}

function isMeter(value: EnergyMeterFactory | EnergyMeter): value is EnergyMeter {
  return typeof (value as EnergyMeter).integrate === 'function';
}

/** A backend catalog that grows as plans name more backends. */
class LoadedBackends implements BackendCatalog {
  private readonly loaded = new Map<string, BackendPlugin>();
  constructor(private readonly known: () => string[]) {}
  add(plugin: BackendPlugin): void {
    this.loaded.set(plugin.name, plugin);
  }
  has(name: string): boolean {
    return this.loaded.has(name);
  }
  get(name: string): BackendPlugin | undefined {
    return this.loaded.get(name);
  }
  names(): string[] {
    return [...new Set([...this.known(), ...this.loaded.keys()])].sort();
  }
}

export async function createLlem(options: LlemOptions): Promise<Llem> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const storeLocation = isStore(options.store) ? (options.storeLocation ?? null) : options.store;
  const ownOptions: PluginOptions = {
    ...options.pluginOptions,
    ...(storeLocation ? { dir: storeLocation.dir } : {}),
  };
  const registry =
    options.registry ??
    new PluginRegistry({ builtins: builtinPlugins(), modules: pluginsFromEnv(), pluginOptions: ownOptions });
  // A given registry's own plugin options (the CLI's executor options, harness python, a job's
  // GPUs) reach every plugin created here; `pluginOptions` and the store's directory go over them.
  const pluginOptions: PluginOptions = { ...registry.defaultOptions(), ...ownOptions };

  let store: StateStore;
  if (isStore(options.store)) store = options.store;
  else {
    const { name, dir } = options.store;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new ConfigError(`Cannot create the state directory ${dir}: ${messageOf(error)}`, {
        fix: 'Set LLEM_STATE_DIR (or --state-dir) to a writable directory.',
      });
    }
    store = await registry.get('store', name, { ...pluginOptions, dir });
  }
  const runner = options.runner ?? (await registry.get('runner', 'local', pluginOptions));

  const given = options.backends;
  const catalog = new LoadedBackends(() => (given ? given.names() : registry.builtinNames('backend')));
  const loadBackends = async (names: Iterable<string>): Promise<BackendCatalog> => {
    for (const name of new Set(names)) {
      if (catalog.has(name)) continue;
      const plugin =
        given?.get(name) ?? (given ? undefined : await registry.get('backend', name, pluginOptions));
      if (plugin) catalog.add(plugin);
    }
    return catalog;
  };
  if (given) await loadBackends(given.names());

  let meters: EnergyMeterFactory | null | undefined =
    options.meters === undefined
      ? undefined
      : options.meters === null
        ? null
        : isMeter(options.meters)
          ? singleMeter(options.meters)
          : options.meters;
  const resolveMeters = async (): Promise<EnergyMeterFactory | null> => {
    if (meters !== undefined) return meters;
    try {
      meters = await registry.get('energy', 'default', pluginOptions);
    } catch (error) {
      if (!isConfigError(error)) throw error;
      logger.debug(`no energy meters: ${messageOf(error)}`);
      meters = null;
    }
    return meters;
  };

  // The container: the contracts by token, the orchestrator as a class it builds.
  const container = rootContainer.createChildContainer();
  container.register(TOKENS.StateStore, { useValue: store });
  container.register(TOKENS.Runner, { useValue: runner });
  container.register(TOKENS.BackendCatalog, { useValue: catalog });
  container.register(TOKENS.Clock, { useValue: clock });
  container.register(TOKENS.Logger, { useValue: logger });
  container.register(TOKENS.EnergyMeterFactory, { useFactory: () => meters ?? null });
  container.registerSingleton(ExperimentOrchestrator);
  const orchestrator = () => container.resolve(ExperimentOrchestrator);

  const context = (): ExecutorContext => ({
    store,
    storeLocation,
    resultsDir: options.resultsDir,
    experiments: orchestrator(),
    meters: meters ?? null,
    plugins: options.plugins ?? registry.modules(),
    llemCommand: options.llemCommand ?? [],
    clock,
    logger,
  });

  return {
    store,
    storeLocation,
    registry,
    backends: catalog,
    loadBackends,
    async plan(document, expandOptions = {}) {
      await loadBackends(backendNamesOf(document, expandOptions));
      return expandStudy(document, { ...expandOptions, backends: catalog });
    },
    async runStudy(plan, runOptions = {}) {
      const { executor: chosen = 'local', ...execute } = runOptions;
      await loadBackends(plan.experiments.map((e) => e.config.backend));
      if (plan.experiments.some((e) => e.config.energy.enabled)) await resolveMeters();
      const executor =
        typeof chosen === 'string' ? await registry.get('executor', chosen, pluginOptions) : chosen;
      return executor.run(plan, context(), execute);
    },
    async runExperiment(request) {
      await loadBackends([request.config.backend]);
      if (request.config.energy.enabled) await resolveMeters();
      return orchestrator().run(request);
    },
    meters: resolveMeters,
    async close() {
      await meters?.close?.();
      await store.close();
    },
  };
}
