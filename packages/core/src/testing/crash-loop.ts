import type { ChildProcess } from 'node:child_process';

export interface SigkillLoopOptions {
  /** How many children to start and SIGKILL. */
  iterations: number;
  /**
   * Starts a writer. It must print `<id> <n>` on stdout after each completed save, where `n` is a
   * number the saved record carries (so the check can tell the last complete version).
   */
  spawnWriter: () => ChildProcess;
  /** The kill lands uniformly in [0, maxDelayMs] after the writer's first completed save. */
  maxDelayMs?: number;
  /** How long a writer may take to report its first save (default 10 s). */
  startTimeoutMs?: number;
  /** Called after each kill with the last `n` reported per id (over all writers so far). */
  check: (lastReported: ReadonlyMap<string, number>, iteration: number) => Promise<void>;
  random?: () => number;
}

/**
 * Crash-safety harness for stores: starts a writer, lets it save, SIGKILLs it at a random moment
 * (often in the middle of a write), then runs `check` against what is on disk. Repeats.
 */
export async function sigkillDuringSaves(options: SigkillLoopOptions): Promise<void> {
  const random = options.random ?? Math.random;
  const last = new Map<string, number>();
  for (let iteration = 0; iteration < options.iterations; iteration++) {
    const child = options.spawnWriter();
    let stderr = '';
    let buffered = '';
    let firstSave!: () => void;
    const saved = new Promise<void>((resolve) => {
      firstSave = resolve;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [id, n] = line.split(' ');
        if (id && n !== undefined) last.set(id, Number(n));
        firstSave();
      }
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const started = await Promise.race([
      saved.then(() => true),
      closed.then(() => false),
      new Promise<false>((resolve) =>
        setTimeout(() => resolve(false), options.startTimeoutMs ?? 10_000).unref(),
      ),
    ]);
    if (!started) {
      child.kill('SIGKILL');
      await closed;
      throw new Error(`writer ${iteration} never completed a save; stderr:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, random() * (options.maxDelayMs ?? 20)));
    child.kill('SIGKILL');
    await closed; // 'close' comes after stdout is drained, so `last` is complete
    await options.check(last, iteration);
  }
}
