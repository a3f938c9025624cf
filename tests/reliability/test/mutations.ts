import fc from 'fast-check';
import { stringify } from 'yaml';

/**
 * Mutated experiment and study files, each invalid by construction with one fault: a wrong type,
 * an unknown key, an out-of-range number, deep nesting, a huge string, invalid UTF-8, a YAML
 * alias bomb or broken YAML syntax. `expect` is what the one-line error must name.
 */

export interface Mutant {
  kind: string;
  base: 'experiment' | 'study';
  bytes: Buffer;
  /** The error line must contain one of these (the field path, the key, or the problem). */
  expect: string[];
}

type Doc = Record<string, unknown>;

export const experimentBase = (): Doc => ({
  model: 'echo-model',
  backend: 'echo',
  launch: 'local',
  n: 2,
  precision: 'fp32',
  random_seed: 3,
  max_output_tokens: 16,
  decoder: { preset: 'deterministic' },
  warmup: { n_warmup: 1 },
  baseline: { enabled: false },
  energy: { enabled: false },
  echo: { seconds_per_request: 0.01, output_tokens_per_request: 4, fail_at: 'never' },
});

export const studyBase = (): Doc => ({
  name: 'fuzz',
  ...experimentBase(),
  // The sweep dimension is never mutated: a swept value would replace the mutated one.
  sweep: { random_seed: [1, 2] },
  cycles: 1,
  order: 'sequential',
  shuffle_seed: null,
  gaps: { experiment_seconds: 0 },
});

type FieldType = 'int' | 'number' | 'bool' | 'enum';
interface Field {
  path: string[];
  type: FieldType;
  min?: number;
  max?: number;
  /** `min` is exclusive. */
  gt?: boolean;
  studyOnly?: boolean;
  notInStudy?: boolean;
}

const FIELDS: Field[] = [
  { path: ['n'], type: 'int', min: 1 },
  { path: ['random_seed'], type: 'int', notInStudy: true },
  { path: ['max_input_tokens'], type: 'int', min: 1 },
  { path: ['max_output_tokens'], type: 'int', min: 1 },
  { path: ['precision'], type: 'enum' },
  { path: ['dataset_order'], type: 'enum' },
  { path: ['decoder', 'temperature'], type: 'number', min: 0, max: 2 },
  { path: ['decoder', 'top_p'], type: 'number', min: 0, max: 1 },
  { path: ['decoder', 'top_k'], type: 'int', min: 0 },
  { path: ['decoder', 'do_sample'], type: 'bool' },
  { path: ['warmup', 'n_warmup'], type: 'int', min: 1 },
  { path: ['warmup', 'enabled'], type: 'bool' },
  { path: ['baseline', 'enabled'], type: 'bool' },
  { path: ['baseline', 'duration_seconds'], type: 'number', min: 0, gt: true, max: 600 },
  { path: ['energy', 'enabled'], type: 'bool' },
  { path: ['energy', 'sample_interval_ms'], type: 'int', min: 10, max: 10_000 },
  { path: ['energy', 'quality_policy'], type: 'enum' },
  { path: ['echo', 'seconds_per_request'], type: 'number', min: 0, max: 3600 },
  { path: ['echo', 'output_tokens_per_request'], type: 'int', min: 1 },
  { path: ['echo', 'input_tokens_per_request'], type: 'int', min: 0 },
  { path: ['echo', 'fail_at'], type: 'enum' },
  { path: ['cycles'], type: 'int', min: 1, max: 1000, studyOnly: true },
  { path: ['order'], type: 'enum', studyOnly: true },
];

const MAPPINGS = [[], ['decoder'], ['warmup'], ['baseline'], ['energy'], ['echo']];

function setIn(doc: Doc, path: string[], value: unknown): Doc {
  let target = doc;
  for (const key of path.slice(0, -1)) {
    if (typeof target[key] !== 'object' || target[key] === null) target[key] = {};
    target = target[key] as Doc;
  }
  target[path.at(-1)!] = value;
  return doc;
}

const baseArb = fc.constantFrom<'experiment' | 'study'>('experiment', 'study');
const fresh = (base: 'experiment' | 'study') => (base === 'study' ? studyBase() : experimentBase());
const yamlBytes = (doc: Doc) => Buffer.from(stringify(doc, { aliasDuplicateObjects: false }), 'utf8');
const fieldFor = (base: 'experiment' | 'study') =>
  fc.constantFrom(...FIELDS.filter((f) => (base === 'study' ? !f.notInStudy : !f.studyOnly)));

/** A value of the wrong type for a field of `type`. */
function wrongValue(type: FieldType): fc.Arbitrary<unknown> {
  const text = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/^\s*[-+.\d]/.test(s));
  const others: fc.Arbitrary<unknown>[] = [
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.integer(), { minKeys: 1, maxKeys: 2 }),
    fc.constant(null),
  ];
  if (type === 'bool') return fc.oneof(text, fc.integer(), ...others);
  if (type === 'enum')
    return fc.oneof(
      fc.integer(),
      fc.boolean(),
      text.map((s) => `zz${s}`),
      ...others,
    );
  return fc.oneof(text, fc.boolean(), ...others);
}

/** A number of the right type outside the documented range (or a fraction for an integer). */
function outOfRange(field: Field): fc.Arbitrary<number> | undefined {
  const options: fc.Arbitrary<number>[] = [];
  if (field.min !== undefined)
    options.push(
      field.gt ? fc.integer({ min: -1e6, max: field.min }) : fc.integer({ min: -1e6, max: field.min - 1 }),
    );
  if (field.max !== undefined) options.push(fc.integer({ min: field.max + 1, max: 1e9 }));
  if (field.type === 'int') options.push(fc.integer({ min: 1, max: 1000 }).map((i) => i + 0.5));
  return options.length ? fc.oneof(...options) : undefined;
}

const keyArb = fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/).map((s) => `zz_${s}`);

const wrongType = baseArb.chain((base) =>
  fieldFor(base).chain((field) =>
    wrongValue(field.type).map(
      (value): Mutant => ({
        kind: 'wrong-type',
        base,
        bytes: yamlBytes(setIn(fresh(base), field.path, value)),
        expect: [field.path.join('.')],
      }),
    ),
  ),
);

const unknownKey = fc.tuple(baseArb, fc.constantFrom(...MAPPINGS), keyArb, fc.jsonValue({ maxDepth: 2 })).map(
  ([base, at, key, value]): Mutant => ({
    kind: 'unknown-key',
    base,
    bytes: yamlBytes(setIn(fresh(base), [...at, key], value)),
    expect: [key],
  }),
);

const rangeFields = FIELDS.filter((f) => outOfRange(f) !== undefined);
const outOfRangeNumber = baseArb.chain((base) =>
  fc
    .constantFrom(...rangeFields.filter((f) => (base === 'study' ? !f.notInStudy : !f.studyOnly)))
    .chain((field) =>
      outOfRange(field)!.map(
        (value): Mutant => ({
          kind: 'out-of-range',
          base,
          bytes: yamlBytes(setIn(fresh(base), field.path, value)),
          expect: [field.path.join('.')],
        }),
      ),
    ),
);

const deepNesting = fc
  .tuple(baseArb, fc.constantFrom(...MAPPINGS), keyArb, fc.integer({ min: 50, max: 3000 }), fc.boolean())
  .map(([base, at, key, depth, flow]): Mutant => {
    // Written by hand: a serializer would recurse as deep as the document.
    const text = stringify(fresh(base));
    const indent = '  '.repeat(at.length);
    const nested = flow
      ? `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`
      : `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const body =
      at.length === 0
        ? `${text}${key}: ${nested}\n`
        : text.replace(`${at[0]}:\n`, `${at[0]}:\n${indent}${key}: ${nested}\n`);
    return { kind: 'deep-nesting', base, bytes: Buffer.from(body), expect: [key, 'nested too deeply'] };
  });

const hugeString = fc
  .tuple(
    baseArb,
    fc.constantFrom<string[]>(['precision'], ['dataset_order'], ['echo', 'fail_at'], ['n']),
    fc.integer({ min: 100_000, max: 1_000_000 }),
    fc.constantFrom('x', 'é', '🙂', ' '),
  )
  .map(
    ([base, path, length, unit]): Mutant => ({
      kind: 'huge-string',
      base,
      bytes: yamlBytes(setIn(fresh(base), path, `z${unit.repeat(Math.ceil(length / unit.length))}`)),
      expect: [path.join('.')],
    }),
  );

const BAD_UTF8 = [
  [0xff],
  [0xc3, 0x28],
  [0xed, 0xa0, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xc0, 0xaf],
  [0xe2, 0x82],
];
const invalidUtf8 = fc
  .tuple(baseArb, fc.constantFrom(...BAD_UTF8), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([base, bad, where]): Mutant => {
    const bytes = yamlBytes(fresh(base));
    const at = Math.floor(where * bytes.length);
    return {
      kind: 'invalid-utf8',
      base,
      bytes: Buffer.concat([bytes.subarray(0, at), Buffer.from(bad), bytes.subarray(at)]),
      expect: ['UTF-8'],
    };
  });

const aliasBomb = fc
  .tuple(
    baseArb,
    fc.integer({ min: 3, max: 9 }),
    fc.integer({ min: 4, max: 10 }),
    fc.constantFrom('metadata', 'zz_bomb'),
  )
  .map(([base, levels, width, key]): Mutant => {
    const lines = [`${key}:`, `  l0: &l0 [${Array(width).fill('"lol"').join(', ')}]`];
    for (let i = 1; i <= levels; i++)
      lines.push(
        `  l${i}: &l${i} [${Array(width)
          .fill(`*l${i - 1}`)
          .join(', ')}]`,
      );
    const text = `${stringify(fresh(base))}${lines.join('\n')}\n`;
    return { kind: 'alias-bomb', base, bytes: Buffer.from(text), expect: ['alias'] };
  });

const brokenSyntax = fc
  .tuple(
    baseArb,
    fc.constantFrom(
      ': :',
      '- [',
      '{a: 1',
      '"unterminated',
      '\tindent: tab',
      'key: value: other',
      '? ? ?',
      '!!binary zz',
    ),
  )
  .map(
    ([base, junk]): Mutant => ({
      kind: 'broken-yaml',
      base,
      bytes: Buffer.from(`${stringify(fresh(base))}${junk}\n`),
      expect: ['YAML'],
    }),
  );

export const mutantArb: fc.Arbitrary<Mutant> = fc.oneof(
  { arbitrary: wrongType, weight: 4 },
  { arbitrary: unknownKey, weight: 3 },
  { arbitrary: outOfRangeNumber, weight: 3 },
  { arbitrary: deepNesting, weight: 1 },
  { arbitrary: hugeString, weight: 1 },
  { arbitrary: invalidUtf8, weight: 1 },
  { arbitrary: aliasBomb, weight: 1 },
  { arbitrary: brokenSyntax, weight: 1 },
);
