import { describe, expect, it } from 'vitest';
import { arrivalSchedule, percentiles, seededRandom } from '../src/index.js';

const gaps = (xs: number[]) => xs.slice(1).map((x, i) => x - (xs[i] as number));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('arrival schedule', () => {
  it('is the same for the same seed, and differs for another seed', () => {
    const mode = { kind: 'open', requestRate: 10 } as const;
    expect(arrivalSchedule(mode, 7, 500)).toEqual(arrivalSchedule(mode, 7, 500));
    expect(arrivalSchedule(mode, 8, 500)).not.toEqual(arrivalSchedule(mode, 7, 500));
    // a shorter schedule is a prefix of a longer one: n does not change the arrivals
    expect(arrivalSchedule(mode, 7, 500).slice(0, 50)).toEqual(arrivalSchedule(mode, 7, 50));
  });

  it('pins the schedule of seed 42 (a changed generator would silently change reruns)', () => {
    const s = arrivalSchedule({ kind: 'open', requestRate: 4 }, 42, 4).map(
      (x) => Math.round(x * 1000) / 1000,
    );
    expect(s).toEqual([0, 9.993, 230.617, 561.248]);
    expect(seededRandom(42)()).toBe(0.24572046380490065);
  });

  it('starts at 0, increases, and has mean gap 1/rate (Poisson: coefficient of variation 1)', () => {
    const s = arrivalSchedule({ kind: 'open', requestRate: 20 }, 3, 20_001);
    expect(s[0]).toBe(0);
    const g = gaps(s);
    expect(g.every((x) => x >= 0)).toBe(true);
    const m = mean(g);
    expect(m).toBeGreaterThan(50 * 0.97);
    expect(m).toBeLessThan(50 * 1.03);
    const cv2 = mean(g.map((x) => (x - m) ** 2)) / m ** 2;
    expect(cv2).toBeGreaterThan(0.93);
    expect(cv2).toBeLessThan(1.07);
  });

  it('gamma burstiness k keeps the mean and sets the squared coefficient of variation to 1/k', () => {
    for (const k of [0.25, 4]) {
      const g = gaps(arrivalSchedule({ kind: 'open', requestRate: 10, burstiness: k }, 11, 40_001));
      const m = mean(g);
      expect(Math.abs(m - 100) / 100).toBeLessThan(0.04);
      const cv2 = mean(g.map((x) => (x - m) ** 2)) / m ** 2;
      expect(Math.abs(cv2 - 1 / k) / (1 / k)).toBeLessThan(0.1);
    }
  });

  it('closed loop has no schedule; bad rates are refused', () => {
    expect(arrivalSchedule({ kind: 'closed', concurrency: 3 }, 1, 3)).toEqual([0, 0, 0]);
    expect(() => arrivalSchedule({ kind: 'open', requestRate: 0 }, 1, 3)).toThrow(/requestRate/);
    expect(() => arrivalSchedule({ kind: 'open', requestRate: 1, burstiness: -1 }, 1, 3)).toThrow(
      /burstiness/,
    );
  });
});

describe('percentiles', () => {
  it('interpolates linearly and is null without samples', () => {
    expect(percentiles([4, 1, 3, 2])).toMatchObject({ p50: 2.5, min: 1, max: 4, mean: 2.5, n: 4 });
    expect(percentiles([5]).p99).toBe(5);
    expect(percentiles([])).toEqual({
      mean: null,
      p50: null,
      p90: null,
      p99: null,
      min: null,
      max: null,
      n: 0,
    });
  });
});
