import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigHasher, canonicalize, canonicalizeWith, computeConfigHash } from '../src/index.js';

/** The recursive canonicalize this project shipped first: the iterative one must match it byte for byte. */
function reference(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`Cannot canonicalize non-finite number ${value}`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => reference(item ?? null)).join(',')}]`;
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, item]) => item !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${reference(item)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`Cannot canonicalize a value of type ${typeof value}`);
  }
}

const valueArb = fc
  .jsonValue({ maxDepth: 6 })
  .chain((json) =>
    fc.constantFrom(json, { a: json, b: undefined, é: [json, undefined], '\u{1F600}': -0, 'e\u0301': 1e21 }),
  );

describe('canonicalize (iterative) against the recursive reference', () => {
  it('gives the same text for any JSON value, with undefined members and items, -0, unicode keys', () => {
    fc.assert(
      fc.property(valueArb, (value) => {
        expect(canonicalize(value)).toBe(reference(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the same text with a memo shared by many values, and the same config hashes in a row', () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 3 })), {
          minLength: 1,
          maxLength: 20,
        }),
        (configs) => {
          const shared = { s: [1, { t: 'x' }] };
          const memo = new WeakMap<object, string>();
          const hasher = new ConfigHasher();
          for (const config of configs) {
            const withShared = { ...config, shared, metadata: { ignored: true } };
            expect(canonicalizeWith(withShared, { memo })).toBe(reference(withShared));
            expect(hasher.hash(withShared)).toBe(computeConfigHash(withShared));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('ConfigHasher: configs that differ from the previous one in one key, or a few, or in key order', () => {
    const keys = ['a', 'b', 'c', 'd', 'n', 'z', 'name'];
    const step = fc.tuple(
      fc.constantFrom(...keys),
      fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(undefined)),
      fc.boolean(),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        const hasher = new ConfigHasher();
        let config: Record<string, unknown> = { a: 1, b: [1], c: { d: 2 }, n: 0 };
        for (const [key, value, fresh] of steps) {
          // A new object each time (as a sweep makes), sometimes built in another key order.
          config = fresh
            ? Object.fromEntries(Object.entries({ ...config, [key]: value }).reverse())
            : { ...config, [key]: value };
          expect(hasher.hash(config)).toBe(computeConfigHash(config));
        }
      }),
      { numRuns: 500 },
    );
  });
});
