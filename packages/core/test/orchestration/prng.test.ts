import { describe, expect, it } from 'vitest';
import { orderRuns, SeededRandom } from '../../src/orchestration/index.js';

// Reference vectors computed by an independent Python port of splitmix32 + xoshiro128** (not by this code).
describe('SeededRandom (xoshiro128** seeded by splitmix32)', () => {
  it('gives the reference 32-bit outputs for fixed seeds', () => {
    const take = (seed: number, n: number) => {
      const random = new SeededRandom(seed);
      return Array.from({ length: n }, () => random.nextUint32());
    };
    expect(take(42, 5)).toEqual([2837322924, 544945897, 479756282, 3500138142, 339756180]);
    expect(take(-1, 3)).toEqual([2466671647, 704075991, 1425070668]);
    expect(take(2 ** 40 + 7, 3)).toEqual([1606920336, 1856359683, 890391056]);
  });

  it('shuffles with Fisher-Yates to the reference permutations, a new one per call', () => {
    const random = new SeededRandom(42);
    const items = Array.from({ length: 10 }, (_, i) => i);
    expect(random.shuffle(items)).toEqual([3, 6, 8, 7, 5, 0, 9, 2, 1, 4]);
    expect(random.shuffle(items)).toEqual([6, 7, 5, 1, 0, 8, 4, 9, 3, 2]);
    expect(items).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('draws unbiased integers below any bound', () => {
    const random = new SeededRandom(7);
    for (let i = 0; i < 200; i++) {
      const value = random.nextBelow(3);
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(3);
    }
    expect(() => random.nextBelow(0)).toThrow(RangeError);
    expect(() => new SeededRandom(1.5)).toThrow(RangeError);
  });
});

describe('orderRuns', () => {
  it('sequential repeats each experiment back to back', () => {
    expect(orderRuns(2, 2, 'sequential')).toEqual([
      [0, 1],
      [0, 2],
      [1, 1],
      [1, 2],
    ]);
  });
  it('interleaved repeats the whole list per cycle', () => {
    expect(orderRuns(2, 2, 'interleaved')).toEqual([
      [0, 1],
      [1, 1],
      [0, 2],
      [1, 2],
    ]);
  });
  it('shuffled draws one permutation per cycle from one seeded stream', () => {
    const runs = orderRuns(10, 2, 'shuffled', 42);
    expect(runs.slice(0, 10).map(([i]) => i)).toEqual([3, 6, 8, 7, 5, 0, 9, 2, 1, 4]);
    expect(runs.slice(10).map(([i]) => i)).toEqual([6, 7, 5, 1, 0, 8, 4, 9, 3, 2]);
    expect(runs.every(([, cycle], position) => cycle === (position < 10 ? 1 : 2))).toBe(true);
    expect(orderRuns(10, 2, 'shuffled', 42)).toEqual(runs);
  });
});
