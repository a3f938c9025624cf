/**
 * Summary statistics for repeated measurements (cycles): mean, sample standard deviation and the
 * 95 % confidence half-width of the mean with Student's t (n − 1 degrees of freedom).
 */

export interface SampleStats {
  n: number;
  mean: number | null;
  /** Sample standard deviation (n − 1); null when n < 2. */
  std: number | null;
  /** 95 % CI half-width of the mean: t(0.975, n − 1) · std / √n; null when n < 2. */
  ci95: number | null;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~15 significant digits). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0] as number;
  for (let i = 1; i < 9; i++) sum += (c[i] as number) / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(a, b, x)) / a
    : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** CDF of Student's t with `dof` degrees of freedom. */
export function studentTCdf(t: number, dof: number): number {
  const tail = 0.5 * incompleteBeta(dof / (dof + t * t), dof / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** Inverse CDF (quantile) of Student's t: the t with P(T ≤ t) = p. Bisection to 1e-12. */
export function studentTQuantile(p: number, dof: number): number {
  if (!(p > 0 && p < 1) || !(dof > 0))
    throw new RangeError(`studentTQuantile needs 0 < p < 1 and dof > 0 (got p=${p}, dof=${dof})`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, dof);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, dof) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, dof) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Mean, sample std and 95 % CI half-width of the finite values in `values` (nulls are skipped). */
export function sampleStats(values: readonly (number | null | undefined)[]): SampleStats {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { n, mean: null, std: null, ci95: null };
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { n, mean, std: null, ci95: null };
  const std = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  return { n, mean, std, ci95: (studentTQuantile(0.975, n - 1) * std) / Math.sqrt(n) };
}

/** Welch's two-sample t-test of the means (unequal variances). */
export interface WelchTest {
  t: number;
  /** Welch–Satterthwaite degrees of freedom. */
  dof: number;
  /** Two-sided p-value. */
  p: number;
}

/**
 * Welch's t-test between two samples summarised by sampleStats; null when either side has fewer
 * than 2 values (no estimate of its noise). Two samples without spread: p is 0 when the means
 * differ, 1 when they are equal.
 */
export function welchTTest(a: SampleStats, b: SampleStats): WelchTest | null {
  if (a.n < 2 || b.n < 2 || a.mean === null || b.mean === null || a.std === null || b.std === null)
    return null;
  const va = a.std ** 2 / a.n;
  const vb = b.std ** 2 / b.n;
  const diff = b.mean - a.mean;
  if (va + vb === 0) {
    const p = diff === 0 ? 1 : 0;
    return { t: diff === 0 ? 0 : Math.sign(diff) * Number.POSITIVE_INFINITY, dof: a.n + b.n - 2, p };
  }
  const t = diff / Math.sqrt(va + vb);
  const dof = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  const p = Math.min(1, 2 * (1 - studentTCdf(Math.abs(t), dof)));
  return { t, dof, p };
}
