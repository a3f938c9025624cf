/**
 * A seeded PRNG that gives the same numbers on every machine and runtime (the original used
 * Python's MT19937, which nothing else reproduces): xoshiro128** seeded through splitmix32.
 * 32-bit integer arithmetic only (`Math.imul`, `>>> 0`), so results never depend on floats.
 */

function splitmix32(state: number): { value: number; next: number } {
  const next = (state + 0x9e3779b9) >>> 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return { value: (z ^ (z >>> 16)) >>> 0, next };
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Any safe integer seed (negative and > 2^32 included: its 64-bit two's complement is used). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    const wide = BigInt.asUintN(64, BigInt(seed));
    let state = (Number(wide & 0xffffffffn) ^ Math.imul(Number(wide >> 32n), 0x9e3779b9)) >>> 0;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const step = splitmix32(state);
      words.push(step.value);
      state = step.next;
    }
    [this.a, this.b, this.c, this.d] = words as [number, number, number, number];
    // xoshiro's all-zero state is a fixed point; make sure it never starts there.
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next uniform 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c = (this.c ^ this.a) >>> 0;
    this.d = (this.d ^ this.b) >>> 0;
    this.b = (this.b ^ this.c) >>> 0;
    this.a = (this.a ^ this.d) >>> 0;
    this.c = (this.c ^ t) >>> 0;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform integer in [0, bound), without modulo bias (rejection sampling). */
  nextBelow(bound: number): number {
    if (!Number.isInteger(bound) || bound < 1 || bound > 0x100000000)
      throw new RangeError(`bound must be in [1, 2^32], got ${bound}`);
    const limit = 0x100000000 - (0x100000000 % bound);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % bound;
    }
  }

  /** A shuffled copy of `items` (Fisher-Yates, from the last position down). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.nextBelow(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}
