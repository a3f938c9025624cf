import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type ExperimentState,
  type LlemPlugin,
  PluginRegistry,
  type StateStore,
  type StudyExecutor,
  type StudySummary,
  TOKENS,
} from '../src/index.js';
import { createLlem, LocalExecutor } from '../src/orchestration/index.js';
import { catalogOf, scriptBackend } from '../src/testing/script-backend.js';
import { ProcessGroupTestRunner } from './orchestration/helpers/process-runner.js';

/** A store small enough to write here; the real ones live in @llem/state-fs and @llem/state-sqlite. */
function memoryStore(name = 'memory'): StateStore {
  const states = new Map<string, ExperimentState>();
  return {
    name,
    create: async () => {
      throw new Error('unused');
    },
    load: async (id) => states.get(id) ?? null,
    save: async (state) => {
      const next = { ...state, revision: state.revision + 1 };
      states.set(state.experimentId, next);
      return next;
    },
    delete: async (id) => states.delete(id),
    list: async () => [...states.values()],
    findByConfigHash: async () => null,
    cleanupStale: async () => [],
    close: async () => {},
  };
}

const plugin =
  <K extends LlemPlugin['kind']>(kind: K, name: string, create: LlemPlugin<K>['create']) =>
  async () =>
    ({ kind, name, create }) as LlemPlugin;

describe('createLlem: the one composition root', () => {
  it('resolves the store, runner and executor by name through the registry, with the store directory', async () => {
    const created: unknown[] = [];
    const registry = new PluginRegistry({
      builtins: {
        store: {
          memory: plugin('store', 'memory', (options) => {
            created.push(options);
            return memoryStore();
          }),
        },
        runner: { local: plugin('runner', 'local', () => new ProcessGroupTestRunner()) },
        executor: { local: plugin('executor', 'local', () => new LocalExecutor()) },
      },
    });
    const dir = await mkdtemp(join(tmpdir(), 'llem-root-'));
    const llem = await createLlem({
      store: { name: 'memory', dir: join(dir, 'state') },
      resultsDir: join(dir, 'results'),
      registry,
      meters: null,
    });
    expect(llem.store.name).toBe('memory');
    expect(llem.storeLocation).toEqual({ name: 'memory', dir: join(dir, 'state') });
    expect(created).toEqual([{ dir: join(dir, 'state') }]);
    await llem.close();
  });

  it("a given registry's own plugin options reach every plugin it creates: executor options, a job's GPUs", async () => {
    const created: Record<string, unknown> = {};
    const record =
      <K extends LlemPlugin['kind']>(kind: K, make: () => ReturnType<LlemPlugin<K>['create']>) =>
      (options?: Record<string, unknown>) => {
        created[kind] = options;
        return make();
      };
    const executor: StudyExecutor = { name: 'probe', run: async () => ({}) as StudySummary };
    const dir = await mkdtemp(join(tmpdir(), 'llem-root-'));
    const registry = new PluginRegistry({
      builtins: {
        store: {
          memory: plugin(
            'store',
            'memory',
            record('store', () => memoryStore()),
          ),
        },
        runner: { local: plugin('runner', 'local', () => new ProcessGroupTestRunner()) },
        executor: {
          probe: plugin(
            'executor',
            'probe',
            record('executor', () => executor),
          ),
        },
        energy: {
          default: plugin(
            'energy',
            'default',
            record('energy', () => ({ meterFor: () => null })),
          ),
        },
      },
      // What the CLI's registry carries: --executor-option values, and `llem exec`'s allocation.
      pluginOptions: { dir: join(dir, 'elsewhere'), executor: { partition: 'gpu' }, gpuIndices: [1] },
    });
    const llem = await createLlem({
      store: { name: 'memory', dir: join(dir, 'state') },
      resultsDir: join(dir, 'results'),
      registry,
      backends: catalogOf(scriptBackend()),
    });
    const plan = await llem.plan({ model: 'm', backend: 'script', energy: { enabled: false } });
    await llem.runStudy(plan, { executor: 'probe' });
    await llem.meters();
    const expected = { dir: join(dir, 'state'), executor: { partition: 'gpu' }, gpuIndices: [1] };
    expect(created).toEqual({ store: expected, executor: expected, energy: expected });
    await llem.close();
  });

  it('an unknown store name is a ConfigError naming what was tried', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llem-root-'));
    await expect(
      createLlem({
        store: { name: 'nope', dir: join(dir, 'state') },
        resultsDir: dir,
        registry: new PluginRegistry({ builtins: {} }),
        meters: null,
      }),
    ).rejects.toThrow(/Unknown store 'nope'/);
  });

  it('two compositions are independent: each has its own store and orchestrator', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llem-root-'));
    const runner = new ProcessGroupTestRunner();
    const a = await createLlem({ store: memoryStore('a'), runner, resultsDir: dir, meters: null });
    const b = await createLlem({ store: memoryStore('b'), runner, resultsDir: dir, meters: null });
    expect(a.store).not.toBe(b.store);
    expect(a.store.name).toBe('a');
  });

  it('tokens are global symbols, so separately bundled copies agree', () => {
    expect(TOKENS.StateStore).toBe(Symbol.for('llem.StateStore'));
    expect(TOKENS.EnergyMeterFactory).toBe(Symbol.for('llem.EnergyMeterFactory'));
  });
});
