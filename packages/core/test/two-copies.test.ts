import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A third-party plugin may bring its own copy of @llem/core (another version, or a bundle). Errors
 * cross that line: a store from copy A throws StateConflictError, copy B's orchestrator must see a
 * conflict; a backend from copy A throws ConfigError, copy B's CLI must exit 2. Here two real,
 * separate copies of core's sources are loaded into one process (distinct module instances:
 * `instanceof` between them is false) and classify each other's errors by brand.
 */

type Core = typeof import('../src/index.js');

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
let scratch: string;
let a: Core;
let b: Core;

beforeAll(async () => {
  // Inside the package, so the copies resolve zod, yaml, tsyringe from its node_modules.
  scratch = mkdtempSync(join(packageRoot, 'test', '.copies-'));
  for (const copy of ['a', 'b']) cpSync(join(packageRoot, 'src'), join(scratch, copy), { recursive: true });
  a = (await import(join(scratch, 'a', 'index.ts'))) as Core;
  b = (await import(join(scratch, 'b', 'index.ts'))) as Core;
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('two copies of @llem/core in one process', () => {
  it('are really two copies (instanceof does not cross)', () => {
    expect(a.ConfigError).not.toBe(b.ConfigError);
    expect(new a.ConfigError('x') instanceof b.ConfigError).toBe(false);
  });

  it('classify each other’s errors by brand, kind and exit code', () => {
    const cases: [unknown, keyof Core, number][] = [
      [new a.ConfigError('bad field'), 'isConfigError', 2],
      [new a.StateConflictError('exp', 3, 2), 'isStateConflictError', 1],
      [new a.CorruptRecordError('broken', 'exp'), 'isCorruptRecordError', 1],
      [new a.InterruptedError(), 'isInterruptedError', 130],
      [new a.BackendError('no'), 'isBackendError', 1],
      [new a.RunnerError('no'), 'isRunnerError', 1],
      [new a.EnergyError('no'), 'isEnergyError', 1],
      [new a.InvalidStateTransitionError('done', 'measuring'), 'isInvalidStateTransitionError', 1],
    ];
    for (const [error, check, code] of cases) {
      expect(
        (b[check] as (e: unknown) => boolean)(error),
        `${String(check)} of ${(error as Error).name}`,
      ).toBe(true);
      expect(b.isLlemError(error)).toBe(true);
      expect(b.exitCodeOf(error)).toBe(code);
    }
    // Subkinds keep their parents: a corrupt record and a conflict are store errors.
    expect(b.isStateStoreError(new a.CorruptRecordError('broken', 'exp'))).toBe(true);
    expect(b.isStateStoreError(new a.StateConflictError('exp', 3, 2))).toBe(true);
    // And nothing else passes.
    expect(b.isConfigError(new a.BackendError('no'))).toBe(false);
    expect(b.isLlemError(new Error('plain'))).toBe(false);
    expect(b.isLlemError({ llemKinds: ['config'] })).toBe(false);
    expect(b.exitCodeOf(new Error('plain'))).toBe(1);
  });

  it('a store from copy A losing a race is "busy" to copy B’s claim, not a crash', async () => {
    const state = a.createState('exp', '0123456789abcdef');
    const store = {
      name: 'copy-a',
      load: async () => ({ ...a.markFailed(state, 'earlier attempt failed'), revision: 4 }),
      save: async () => {
        throw new a.StateConflictError('exp', 5, 4);
      },
    } as unknown as import('../src/index.js').StateStore;
    const orchestration = (await import(
      join(scratch, 'b', 'orchestration', 'index.ts')
    )) as typeof import('../src/orchestration/index.js');
    const claim = await orchestration.claimRun(
      store,
      {
        experimentId: 'exp',
        configHash: '0123456789abcdef',
        studyId: null,
        cycle: null,
        force: false,
        reuseByHash: false,
      },
      b.systemClock,
    );
    expect(claim.kind).toBe('busy');
  });
});
