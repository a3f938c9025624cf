import { describe, expect, it } from 'vitest';
import { sampleStats, studentTCdf, studentTQuantile } from '../../src/results/index.js';

describe('Student t', () => {
  it('matches the textbook two-sided 95 % table', () => {
    const table: [number, number][] = [
      [1, 12.706],
      [2, 4.303],
      [3, 3.182],
      [4, 2.776],
      [9, 2.262],
      [29, 2.045],
      [120, 1.98],
      [1e6, 1.96],
    ];
    for (const [dof, t] of table) expect(studentTQuantile(0.975, dof)).toBeCloseTo(t, 3);
  });
  it('is the inverse of the CDF and symmetric', () => {
    for (const dof of [1, 3, 7.5, 30]) {
      for (const p of [0.6, 0.9, 0.995]) {
        expect(studentTCdf(studentTQuantile(p, dof), dof)).toBeCloseTo(p, 10);
        expect(studentTQuantile(1 - p, dof)).toBeCloseTo(-studentTQuantile(p, dof), 9);
      }
    }
    expect(() => studentTQuantile(1, 3)).toThrow(RangeError);
  });
});

describe('sampleStats', () => {
  it('gives mean, sample std and the t-based 95 % half-width', () => {
    const stats = sampleStats([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(stats.n).toBe(8);
    expect(stats.mean).toBe(5);
    expect(stats.std).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(stats.ci95).toBeCloseTo((2.364624 * Math.sqrt(32 / 7)) / Math.sqrt(8), 5);
  });
  it('skips nulls and has no spread for one value', () => {
    expect(sampleStats([null, 3, undefined])).toEqual({ n: 1, mean: 3, std: null, ci95: null });
    expect(sampleStats([])).toEqual({ n: 0, mean: null, std: null, ci95: null });
  });
});
