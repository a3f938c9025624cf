import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, computeConfigHash, resolveExperimentConfig } from '../src/index.js';

/** IEEE-754 bit pattern -> number, so the RFC's samples are exact. */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('canonicalize (RFC 8785)', () => {
  // RFC 8785 Appendix B, "Number Serialization Samples".
  const APPENDIX_B: Array<[string, string]> = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];

  it.each(APPENDIX_B)('number %s serialises as %s', (bits, expected) => {
    expect(canonicalize(fromBits(bits))).toBe(expected);
  });

  it('serialises the literal samples from the brief', () => {
    expect(canonicalize(1e21)).toBe('1e+21');
    expect(canonicalize(0.000001)).toBe('0.000001');
    expect(canonicalize(1e-7)).toBe('1e-7');
    expect(canonicalize(-0)).toBe('0');
  });

  it.each([
    ['NaN', fromBits('7fffffffffffffff')],
    ['Infinity', fromBits('7ff0000000000000')],
    ['-Infinity', Number.NEGATIVE_INFINITY],
  ])('rejects %s (Appendix B: must be an error)', (_, value) => {
    expect(() => canonicalize(value)).toThrow(TypeError);
  });

  it('sorts keys by UTF-16 code units (section 3.2.3 example)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('matches the section 3.2.2 example byte for byte', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        '"literals": [null, true, false]}',
    );
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('drops undefined members, writes undefined array items as null, rejects functions', () => {
    expect(canonicalize({ a: undefined, b: [undefined, 1] })).toBe('{"b":[null,1]}');
    expect(() => canonicalize({ f: () => 1 })).toThrow(TypeError);
  });
});

/** A JSON value generator without -0 (canonical JSON has no -0, so it cannot round-trip). */
const json = fc.jsonValue({ noUnicodeString: false }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);

function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((item, i) => shuffleKeys(item, seed + i));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const rotated = entries.map((_, i) => entries[(i + seed) % entries.length]!).reverse();
  return Object.fromEntries(rotated.map(([k, v]) => [k, shuffleKeys(v, seed + 1)]));
}

describe('canonicalize properties', () => {
  it('is independent of key order and round-trips through JSON.parse', () => {
    fc.assert(
      fc.property(json, fc.nat(), (value, seed) => {
        const canonical = canonicalize(value);
        expect(canonicalize(shuffleKeys(value, seed))).toBe(canonical);
        expect(canonicalize(JSON.parse(canonical))).toBe(canonical);
      }),
      { numRuns: 300 },
    );
  });
});

describe('computeConfigHash', () => {
  const base = { model: 'gpt2', backend: 'pytorch' };
  const hashOf = (raw: Record<string, unknown>) => resolveExperimentConfig(raw).configHash;

  it('is 16 lowercase hex characters', () => {
    expect(hashOf(base)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('ignores key order, at every depth', () => {
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const raw = { ...base, n: 7, decoder: { temperature: 0.5, top_k: 3 }, warmup: { n_warmup: 2 } };
        expect(hashOf(shuffleKeys(raw, seed) as Record<string, unknown>)).toBe(hashOf(raw));
      }),
      { numRuns: 50 },
    );
  });

  it('treats explicit defaults like omitted ones', () => {
    const explicit = {
      ...base,
      n: 100,
      precision: 'bf16',
      random_seed: 42,
      max_input_tokens: 512,
      max_output_tokens: 128,
      dataset: 'aienergyscore',
      decoder: { temperature: 1, do_sample: true, top_k: 50, top_p: 1 },
      warmup: { enabled: true, n_warmup: 5 },
      baseline: { enabled: true },
      energy: { samplers: 'auto' },
    };
    expect(hashOf(explicit)).toBe(hashOf(base));
  });

  it('never changes with id, name, output_dir, metadata or runner', () => {
    const volatile = fc.record(
      {
        id: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
        name: fc.string(),
        output_dir: fc.string({ minLength: 1 }),
        metadata: fc.dictionary(fc.string(), fc.jsonValue()),
        runner: fc.constantFrom('auto', 'local', 'docker'),
      },
      { requiredKeys: [] },
    );
    const reference = hashOf(base);
    fc.assert(
      fc.property(volatile, (extra) => {
        expect(hashOf({ ...base, ...extra })).toBe(reference);
      }),
      { numRuns: 100 },
    );
  });

  it('changes with any measured setting', () => {
    const changes: Array<Record<string, unknown>> = [
      { n: 101 },
      { precision: 'fp16' },
      { model: 'gpt2-medium' },
      { decoder: { temperature: 0.7 } },
      { decoder: { preset: 'deterministic' } },
      { max_output_tokens: 64 },
      { max_input_tokens: 256 },
      { random_seed: 1 },
      { dataset: 'synthetic' },
      { dataset_order: 'shuffled' },
      { gpus: [0] },
      { warmup: { n_warmup: 6 } },
      { baseline: { duration_seconds: 10 } },
      { energy: { sample_interval_ms: 50 } },
      { pytorch: { batch_size: 4 } },
    ];
    const reference = hashOf(base);
    const seen = new Set([reference]);
    for (const change of changes) {
      const hash = hashOf({ ...base, ...change });
      expect(hash, JSON.stringify(change)).not.toBe(reference);
      seen.add(hash);
    }
    expect(seen.size).toBe(changes.length + 1);
  });

  it('any change of n, precision or temperature changes the hash (property)', () => {
    const reference = { ...base, n: 100, precision: 'bf16', decoder: { temperature: 1 } };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.constantFrom('fp32', 'fp16', 'bf16'),
        fc.double({ min: 0, max: 2, noNaN: true }),
        (n, precision, temperature) => {
          const same = n === 100 && precision === 'bf16' && temperature === 1;
          const hash = hashOf({ ...base, n, precision, decoder: { temperature } });
          expect(hash === hashOf(reference)).toBe(same);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('hashes the config it is given, not a fixed value', () => {
    expect(computeConfigHash({ a: 1 })).not.toBe(computeConfigHash({ a: 2 }));
    expect(computeConfigHash({ a: 1, output_dir: '/x' })).toBe(computeConfigHash({ a: 1 }));
  });
});
