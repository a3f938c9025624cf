/**
 * The writer half of the store crash suite (see store-crash-suite.ts): a child process that saves
 * without pause until it is SIGKILLed. It imports no vitest, so a store's fixture can be bundled
 * into one small file that starts fast. Import from `@llem/core/testing/crash-writer`.
 */
import { isStateConflictError } from '../errors.js';
import type { ExperimentState } from '../state/experiment-state.js';
import type { StateStore } from '../state/store.js';

/** What a writer does: `loop` saves k0..k2 forever; `count` adds 1 to 'shared' n times. */
export type CrashWriterMode = 'loop' | 'count';

/** A few KiB that encode the attempt, so a torn or mixed record cannot pass for a complete one. */
export function payloadFor(attempt: number): string {
  return `attempt-${attempt}:${'x'.repeat(4096)}:${attempt}`;
}

/** The config hash alternates with each attempt, so crashes also land in index updates. */
export const CRASH_HASHES = ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb'] as const;
export const crashHashFor = (attempt: number): string => CRASH_HASHES[attempt % 2]!;

/** The next version of a record: one more attempt, its payload and its alternating hash. */
export function bumpAttempt(state: ExperimentState): ExperimentState {
  const attempt = state.attempt + 1;
  return {
    ...state,
    attempt,
    configHash: crashHashFor(attempt),
    errorMessage: payloadFor(attempt),
    lastUpdated: new Date().toISOString(),
  };
}

/**
 * Runs the child process the crash suite spawns. Usage (argv after the script):
 *   <target> loop        update k0..k2 forever, printing "<id> <attempt>" after each save
 *   <target> count <n>   add 1 to `attempt` of 'shared' n times, retrying lost races
 * `open` turns the target (a directory, a database path...) into the store under test.
 */
export function runCrashWriter(open: (target: string, mode: CrashWriterMode) => Promise<StateStore>): void {
  main(open).catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  });
}

async function main(open: (target: string, mode: CrashWriterMode) => Promise<StateStore>): Promise<void> {
  const [target, mode, count] = process.argv.slice(2);
  if (!target || (mode !== 'loop' && mode !== 'count')) {
    throw new Error('usage: <target> loop | <target> count <n>');
  }
  const store = await open(target, mode);
  if (mode === 'loop') {
    for (;;) {
      for (const id of ['k0', 'k1', 'k2']) {
        const current = (await store.load(id)) ?? (await store.create(id, CRASH_HASHES[0]));
        const saved = await store.save(bumpAttempt(current));
        process.stdout.write(`${id} ${saved.attempt}\n`);
      }
    }
  }
  for (let done = 0; done < Number(count); ) {
    const current = (await store.load('shared'))!;
    try {
      await store.save(bumpAttempt(current));
      done++;
    } catch (error) {
      if (!isStateConflictError(error)) throw error;
    }
  }
  await store.close();
}
