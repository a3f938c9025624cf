import { flattenConfig, type Scalar } from '@llem/core/results';

/**
 * Short labels for the experiments of one plan or study: the values that tell them apart first
 * (`batch_size=4 max_output_tokens=32`), so they stay visible when a line is cut at 80 columns.
 * Keys are shortened to their last segment (`pytorch.batch_size` -> `batch_size`) unless two
 * keys would read the same.
 */

export interface LabelSource {
  /** The sweep values that made the experiment (dotted key -> value). */
  assignments: Record<string, unknown>;
  /** The plan's full label (`model backend precision key=value ...`). */
  label: string;
  /** The resolved config, when known: explicit experiment lists differ by fields, not sweeps. */
  config?: Record<string, unknown>;
}

/** Dotted keys -> their shortest unambiguous display name (the last segment when unique). */
export function shortKeys(keys: readonly string[]): Map<string, string> {
  const last = (key: string) => key.split('.').pop() ?? key;
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(last(key), (counts.get(last(key)) ?? 0) + 1);
  return new Map(keys.map((key) => [key, counts.get(last(key)) === 1 ? last(key) : key]));
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function compactLabels(experiments: readonly LabelSource[]): string[] {
  const keys: string[] = [];
  for (const e of experiments)
    for (const key of Object.keys(e.assignments)) if (!keys.includes(key)) keys.push(key);
  const flat = experiments.map((e) => (e.config ? flattenConfig(e.config) : null));
  if (flat.every((f) => f !== null) && experiments.length > 1) {
    // Fields that differ between explicitly listed experiments count as swept too.
    const all = new Set(flat.flatMap((f) => Object.keys(f as Record<string, Scalar>)));
    for (const key of all) {
      if (keys.includes(key)) continue;
      const values = new Set(flat.map((f) => JSON.stringify((f as Record<string, Scalar>)[key] ?? null)));
      if (values.size > 1) keys.push(key);
    }
  }
  const names = shortKeys(keys);
  return experiments.map((e, i) => {
    const f = flat[i];
    const parts = keys.flatMap((key) => {
      const value = key in e.assignments ? e.assignments[key] : f ? f[key] : undefined;
      return value === undefined ? [] : [`${names.get(key)}=${text(value)}`];
    });
    return parts.length > 0 ? parts.join(' ') : e.label;
  });
}

/** Cuts a line to `width` columns, marking the cut. */
export function cutToWidth(line: string, width: number): string {
  return line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line;
}
