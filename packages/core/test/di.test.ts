import 'reflect-metadata';
import { inject, injectable } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import { type Clock, createContainer, type ExperimentState, type StateStore, TOKENS } from '../src/index.js';
import { steppingClock } from '../src/testing/index.js';

/** A store small enough to write here; the real ones live in @llem/state-fs and @llem/state-sqlite. */
function memoryStore(): StateStore {
  const states = new Map<string, ExperimentState>();
  return {
    name: 'memory',
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

@injectable()
class ExperimentLookup {
  constructor(
    @inject(TOKENS.StateStore) readonly store: StateStore,
    @inject(TOKENS.Clock) readonly clock: Clock,
  ) {}

  async phaseOf(id: string): Promise<string> {
    return (await this.store.load(id))?.phase ?? 'absent';
  }
}

describe('DI wiring', () => {
  it('resolves the registered store by TOKENS.StateStore', () => {
    const store = memoryStore();
    const container = createContainer({ stateStore: store });
    expect(container.resolve<StateStore>(TOKENS.StateStore)).toBe(store);
  });

  it('injects the store and the clock into an @injectable class through @inject tokens', async () => {
    const store = memoryStore();
    const clock = steppingClock();
    const container = createContainer({ stateStore: store, clock });
    const lookup = container.resolve(ExperimentLookup);
    expect(lookup.store).toBe(store);
    expect(lookup.clock).toBe(clock);
    expect(await lookup.phaseOf('nothing')).toBe('absent');
  });

  it('containers are independent: each has its own store', () => {
    const a = createContainer({ stateStore: memoryStore() });
    const b = createContainer({ stateStore: memoryStore() });
    expect(a.resolve(TOKENS.StateStore)).not.toBe(b.resolve(TOKENS.StateStore));
  });

  it('a missing registration fails when resolved, naming the token', () => {
    expect(() => createContainer().resolve(TOKENS.StateStore)).toThrow(/llem\.StateStore/);
  });

  it('tokens are global symbols, so separately bundled copies agree', () => {
    expect(TOKENS.StateStore).toBe(Symbol.for('llem.StateStore'));
  });

  it('defaults to the system clock and a silent logger', () => {
    const container = createContainer();
    expect((container.resolve(TOKENS.Clock) as Clock).now()).toBeInstanceOf(Date);
    expect(() => (container.resolve(TOKENS.Logger) as { info(m: string): void }).info('x')).not.toThrow();
  });
});
