import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { fastPaths } from '../src/config/fast-paths.js';
import { ConfigError, FAST_LIST_MIN_ITEMS, liftNumberLists, parseConfigText } from '../src/index.js';

afterEach(() => {
  fastPaths.numberLists = true;
});

/** Where a long list can stand in a document: `@` is the list. Valid and invalid places alike. */
const CONTEXTS = [
  'model: x\nmetadata:\n  l: @\n',
  'model: x\nsweep: {n: @}\n',
  'model: x\nsweep:\n  n: @   # the grid\n',
  'model: x\nmetadata: [a, @, b]\n',
  'model: x\nmetadata:\n  - @\n  - @\n',
  'model: x\nd: &a @\nmetadata: {x: *a, y: *a}\n',
  'model: x\n# @\n',
  'model: x\nname: "@"\n',
  "model: x\nname: '@'\n",
  'model: x\nname: |\n  @\n',
  'model: x\nname: foo\n  @\n',
  'model: x\n@: 1\n',
  'model: x\n? @\n: 1\n',
  'model: x\nn: !!str @\n',
  'model: x\nn: !!seq @\n',
  'model: x\nn: !foo @\n',
  'model: x\nn: @ trailing\n',
  'model: x\nn: x@\n',
  '@\n',
  'model: x\nn: @\nn: 2\n',
  'model: x\nmetadata: {a: @, a: 2}\n',
  'model: x\n  n: @\n',
  'model: x\nmetadata:\n  l: @\n  m: [unclosed\n',
  'model: x\nmetadata: {l: @',
  'model: x\n<<: @\n',
  'model: x\nmetadata:\n  deep: {a: {b: @}}\n',
];

const ODD = [
  '007',
  '1e3',
  'x',
  '',
  '1.',
  '.5',
  '+1',
  '0x10',
  '12345678901234567890',
  '-',
  '1-2',
  '0.1234567890123456789',
];
const itemArb = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String) },
  { weight: 3, arbitrary: fc.double({ min: -1000, max: 1000, noNaN: true }).map((d) => d.toFixed(3)) },
  { weight: 1, arbitrary: fc.constantFrom('0', '-0', ...ODD) },
);
const listArb = fc
  .tuple(
    fc.array(itemArb, { minLength: FAST_LIST_MIN_ITEMS - 2, maxLength: FAST_LIST_MIN_ITEMS + 50 }),
    fc.constantFrom(', ', ',', ' , ', ',  '),
    fc.boolean(),
  )
  .map(
    ([items, separator, odd]) => `[${(odd ? items : items.filter((i) => !ODD.includes(i))).join(separator)}]`,
  );

function read(text: string): unknown {
  try {
    return { value: parseConfigText(text, 'l.yaml') };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { error: error.message, fix: error.fix };
  }
}

describe('long lists of numbers read without the YAML parser', () => {
  it('read like the YAML parser reads them, wherever the list stands (or the same error)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CONTEXTS), listArb, (context, list) => {
        const text = context.replaceAll('@', list);
        fastPaths.numberLists = true;
        const fast = read(text);
        fastPaths.numberLists = false;
        const full = read(text);
        expect(fast).toStrictEqual(full);
      }),
      { numRuns: 150 },
    );
  });

  it('are lifted in the plain cases, and aliases share one list as they do in yaml', () => {
    const items = Array.from({ length: 5000 }, (_, i) => (i % 7 === 3 ? -i / 4 : i));
    const text = `model: x\nsweep:\n  n: &n [${items.join(', ')}]\nmetadata: {again: *n}\n`;
    expect(liftNumberLists(text)?.lists.size).toBe(1);
    const raw = parseConfigText(text, 's.yaml');
    expect((raw.sweep as { n: number[] }).n).toStrictEqual(items);
    expect((raw.metadata as { again: unknown }).again).toBe((raw.sweep as { n: unknown }).n);
    // Short lists, and lists spread over lines, are the parser's.
    expect(liftNumberLists('n: [1, 2, 3]\n')).toBeNull();
    expect(liftNumberLists(`n: [${items.join(',\n  ')}]\n`)).toBeNull();
  });
});
