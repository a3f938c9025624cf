import type { RequestRecord } from '@llem/loadgen';
import { describe, expect, it } from 'vitest';
import { attributeEnergy, intervalEdges, MAX_INTERVALS } from '../src/attribution.js';

function record(
  index: number,
  sentMs: number,
  tokenMs: number[],
  inputTokens: number | null = 0,
): RequestRecord {
  return {
    index,
    promptIndex: index,
    scheduledMs: null,
    sentMs,
    firstTokenMs: tokenMs[0] ?? null,
    endMs: tokenMs.at(-1) ?? sentMs,
    tokenMs,
    inputTokens,
    outputTokens: tokenMs.length,
    tokenSource: 'usage',
    status: 'ok',
  };
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

describe('per-request energy', () => {
  it('splits each interval by the tokens each request produced in it', () => {
    // Interval [0, 10): A makes 3 tokens, B 1; [10, 20): only B makes tokens.
    const a = record(0, 0, [1, 2, 3]);
    const b = record(1, 0, [5, 12, 15, 18]);
    const split = attributeEnergy([a, b], [0, 10, 20], [40, 60], 100, 0);
    expect(split.perRequestJ[0]).toBeCloseTo(30, 12);
    expect(split.perRequestJ[1]).toBeCloseTo(10 + 60, 12);
    expect(sum(split.perRequestJ)).toBeCloseTo(100, 12);
    expect(split.idleJ).toBe(0);
  });

  it('normalises the interval energies to the window energy, so the shares sum to it', () => {
    const records = Array.from({ length: 7 }, (_, i) =>
      record(
        i,
        i * 3,
        Array.from({ length: 5 + i }, (_, k) => i * 3 + 1 + k * 1.7),
        11 + i,
      ),
    );
    const edges = intervalEdges({ startMs: 0, endMs: 40 }, [0.5, 3.3, 9.1, 9.1, 17, 25.25, 39.9, 55]);
    const intervalJ = edges.slice(1).map((_, i) => 1.3 + (i % 3) * 0.7);
    const total = 123.456789;
    const split = attributeEnergy(records, edges, intervalJ, total, 0.1);
    expect(Math.abs(sum(split.perRequestJ) - total)).toBeLessThan(1e-9 * total);
    for (const j of split.perRequestJ) expect(j).toBeGreaterThan(0);
  });

  it('weighs prompt tokens by prefill_weight over the time to first token', () => {
    // Both produce one token in [10, 20); A had a 100-token prompt prefilled in [0, 10).
    const a = record(0, 0, [15], 100);
    const b = record(1, 0, [15], 0);
    const split = attributeEnergy([a, b], [0, 10, 20], [10, 10], 20, 0.5);
    // [0, 10): A's prefill weight 50 against B's 0 (B's prefill also spans [0, 15) but has no tokens).
    expect(split.perRequestJ[0]).toBeGreaterThan(split.perRequestJ[1]!);
    expect(sum(split.perRequestJ)).toBeCloseTo(20, 12);
  });

  it('shares an interval with no request in flight in proportion to the rest', () => {
    const a = record(0, 0, [1, 2, 3, 4]);
    const b = record(1, 20, [21, 22]);
    // [5, 20) has nobody in flight: 30 J idle, shared 2:1 like the 60 J attributed otherwise.
    const split = attributeEnergy([a, b], [0, 5, 20, 25], [40, 30, 20], 90, 0);
    expect(split.idleJ).toBeCloseTo(30, 12);
    expect(split.perRequestJ[0]).toBeCloseTo(40 + 20, 9);
    expect(split.perRequestJ[1]).toBeCloseTo(20 + 10, 9);
  });

  it('caps the number of intervals and keeps the window edges', () => {
    const readings = Array.from({ length: MAX_INTERVALS * 3 }, (_, i) => i * 0.01 + 0.005);
    const edges = intervalEdges({ startMs: 0, endMs: MAX_INTERVALS * 3 * 0.01 }, readings);
    expect(edges.length - 1).toBeLessThanOrEqual(MAX_INTERVALS);
    expect(edges[0]).toBe(0);
    expect(edges.at(-1)).toBe(MAX_INTERVALS * 3 * 0.01);
  });
});
