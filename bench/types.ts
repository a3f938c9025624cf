/** One measured figure. `baseline` is the same kind of work done the bare way, in the same run. */
export interface BenchRow {
  suite: string;
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  /** Human-readable target, e.g. "< 5 ms". */
  target?: string;
  /** Whether `value` meets the target (omit when there is none). */
  ok?: boolean;
}

export interface BenchSuite {
  name: string;
  run(): Promise<BenchRow[]>;
}

/** Median of a sample. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Times `fn` `iterations` times (after `warmup` runs) and returns each duration in ms. */
export async function timeMany(fn: () => unknown, iterations: number, warmup = 3): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return samples;
}
