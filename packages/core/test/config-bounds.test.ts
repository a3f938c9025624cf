import { describe, expect, it } from 'vitest';
import {
  assertConfigBounds,
  canonicalize,
  checkExperimentConfig,
  computeConfigHash,
  deepMerge,
  MAX_CONFIG_DEPTH,
  parseConfigText,
  parseSetOverride,
  resolveExperimentConfig,
} from '../src/index.js';
import { expandStudy, planExperiment } from '../src/orchestration/index.js';
import { configErrorOf as errorOf } from './helpers/config-error.js';

/** `{key: {key: ... leaf}}`, `depth` mappings deep, built without recursion. */
function nestedObject(depth: number, leaf: unknown = 1, key = 'a'): Record<string, unknown> {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = { [key]: value };
  return value as Record<string, unknown>;
}
function nestedList(depth: number): unknown[] {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value as unknown[];
}

/** One line, naming the file and the field path: the project's error contract. */
function expectOneLine(message: string, start: string): void {
  expect(message.split('\n')).toHaveLength(1);
  expect(message.startsWith(start)).toBe(true);
}

describe('aliases that refer to themselves', () => {
  it('a self-referencing alias is a ConfigError naming the file, the path and the alias', () => {
    const error = errorOf(() => parseConfigText('model: x\nmetadata: &r {self: *r}\n', 'r.yaml'));
    expect(error.message).toBe(
      'r.yaml: metadata.self: the alias *r refers to a mapping that contains it (a cycle).',
    );
    expect(error.fix).toMatch(/\*r/);
  });

  it('a longer cycle, through lists and nested anchors', () => {
    const deep = errorOf(() => parseConfigText('model: x\na: &a {b: &b [1, {c: *a}]}\n', 'c.yaml'));
    expect(deep.message).toBe(
      'c.yaml: a.b[1].c: the alias *a refers to a mapping that contains it (a cycle).',
    );
    const list = errorOf(() => parseConfigText('model: x\nl: &l [1, [2, *l]]\n', 'l.yaml'));
    expect(list.message).toBe('l.yaml: l[1][1]: the alias *l refers to a list that contains it (a cycle).');
    const block = errorOf(() =>
      parseConfigText('model: x\nmetadata: &m\n  inner: &i\n    back: *m\n', 'b.yaml'),
    );
    expectOneLine(block.message, 'b.yaml: metadata.inner.back: the alias *m');
    const merge = errorOf(() => parseConfigText('model: x\nwarmup: &w\n  <<: *w\n', 'm.yaml'));
    expectOneLine(merge.message, 'm.yaml: warmup.<<: the alias *w');
    // A `key: value` pair in a flow list is a one-pair mapping: [0].k.
    const pair = errorOf(() => parseConfigText('model: x\nmetadata: &r [k: *r]\n', 'p.yaml'));
    expect(pair.message).toBe(
      'p.yaml: metadata[0].k: the alias *r refers to a list that contains it (a cycle).',
    );
    expect(errorOf(() => parseConfigText('model: x\nl: [{a: 1}: 2]\n', 'k.yaml')).message).toMatch(
      /^k\.yaml:2:5: YAML error: a key must be a plain value/,
    );
  });

  it('an alias used twice, or an alias to an earlier sibling, is fine', () => {
    const raw = parseConfigText('model: x\nd: &d {t: 1}\nmetadata: {a: *d, b: *d, l: [*d]}\n', 'ok.yaml');
    expect(raw.metadata).toEqual({ a: { t: 1 }, b: { t: 1 }, l: [{ t: 1 }] });
  });
});

describe('deep nesting', () => {
  const depth = 5000;
  const flowMapping = `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`;
  const flowList = `${'['.repeat(depth)}1${']'.repeat(depth)}`;

  it('5,000 levels in YAML, in metadata and in a list, is a ConfigError', () => {
    for (const text of [`model: x\nmetadata: ${flowMapping}\n`, `model: x\nmetadata:\n  l: ${flowList}\n`]) {
      const error = errorOf(() => parseConfigText(text, 'deep.yaml'));
      expectOneLine(error.message, 'deep.yaml:');
      expect(error.message).toMatch(/nested too deeply/);
    }
    // Block style: one mapping per line.
    let block = 'model: x\nmetadata:\n';
    for (let i = 1; i <= depth; i++) block += `${' '.repeat(i)}a:\n`;
    expect(errorOf(() => parseConfigText(block, 'block.yaml')).message).toMatch(
      /^block\.yaml.*nested too deeply/,
    );
  });

  it('5,000 levels in JSON, in metadata and in a list, is a ConfigError naming the path', () => {
    // Written by hand: JSON.stringify recurses as deep as the value.
    const inMetadata = `{"model": "x", "metadata": ${'{"a": '.repeat(depth)}1${'}'.repeat(depth)}}`;
    const error = errorOf(() => parseConfigText(inMetadata, 'deep.json', 'json'));
    expectOneLine(error.message, 'deep.json: metadata.a.a.a.a.a.a.a…: the document is nested too deeply');
    expect(error.fix).toMatch(String(MAX_CONFIG_DEPTH));
    const inList = `{"model": "x", "gpus": ${flowList}}`;
    expect(errorOf(() => parseConfigText(inList, 'list.json', 'json')).message).toMatch(
      /^list\.json: gpus\[0\]\[0\].*nested too deeply/,
    );
    // A syntax error after deep nesting still gets its position (the scanner is iterative).
    const broken = `{"model": "x", "m": ${'['.repeat(depth)}1,]${']'.repeat(depth - 1)}}`;
    expect(errorOf(() => parseConfigText(broken, 'b.json', 'json')).message).toMatch(
      /^b\.json:1:\d+: JSON syntax error/,
    );
  });

  it(`allows ${MAX_CONFIG_DEPTH} levels and refuses one more, in YAML and JSON alike`, () => {
    // The top-level mapping is level 1, metadata's value level 2.
    const ok = { model: 'x', metadata: nestedObject(MAX_CONFIG_DEPTH - 1) };
    const over = { model: 'x', metadata: nestedObject(MAX_CONFIG_DEPTH) };
    expect(parseConfigText(JSON.stringify(ok), 'ok.json', 'json')).toEqual(ok);
    expect(errorOf(() => parseConfigText(JSON.stringify(over), 'o.json', 'json')).message).toMatch(
      /nested too deeply \(more than 64 levels\)/,
    );
    const yaml = (depth: number) => `model: x\nmetadata: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\n`;
    expect(parseConfigText(yaml(MAX_CONFIG_DEPTH - 1), 'ok.yaml')).toEqual(ok);
    expect(errorOf(() => parseConfigText(yaml(MAX_CONFIG_DEPTH), 'o.yaml')).message).toMatch(
      /^o\.yaml: metadata\.a.*nested too deeply/,
    );
    // Through an alias too: the shared value is deep enough only at its second place.
    const shallow = `${'{a: '.repeat(MAX_CONFIG_DEPTH - 1)}1${'}'.repeat(MAX_CONFIG_DEPTH - 1)}`;
    expect(parseConfigText(`model: x\nmetadata: &d ${shallow}\n`, 'a.yaml')).toBeTruthy();
    expect(
      errorOf(() => parseConfigText(`model: x\nmetadata: &d ${shallow}\nx: {y: *d}\n`, 'a.yaml')).message,
    ).toMatch(/^a\.yaml: x\.y: the document is nested too deeply/);
  });
});

describe('JS objects handed to the library', () => {
  const cyclic = () => {
    const metadata: Record<string, unknown> = { note: 'loop' };
    metadata.self = metadata;
    return { model: 'm', metadata };
  };

  it('a cyclic object is a ConfigError from expandStudy, planExperiment and resolveExperimentConfig', () => {
    const expected = 'lib.yaml: metadata.self: the value refers to a mapping that contains it (a cycle).';
    expect(errorOf(() => expandStudy(cyclic(), { source: 'lib.yaml' })).message).toBe(expected);
    expect(errorOf(() => planExperiment(cyclic(), { source: 'lib.yaml' })).message).toBe(expected);
    expect(errorOf(() => resolveExperimentConfig(cyclic(), { source: 'lib.yaml' })).message).toBe(expected);
    expect(errorOf(() => checkExperimentConfig(cyclic())).message).toMatch(/^config: metadata\.self: /);
    // In a study: the sweep values, an explicit entry.
    const list: unknown[] = [1];
    list.push(list);
    expect(
      errorOf(() => expandStudy({ model: 'm', sweep: { gpus: [list] } }, { source: 's.yaml' })).message,
    ).toBe('s.yaml: sweep.gpus[0][1]: the value refers to a list that contains it (a cycle).');
    const entry: Record<string, unknown> = { n: 2 };
    entry.again = entry;
    expect(errorOf(() => expandStudy({ model: 'm', experiments: [entry] })).message).toMatch(
      /^config: experiments\[0\]\.again: /,
    );
  });

  it('a 100,000-deep object is a ConfigError, not a stack overflow', () => {
    const deep = { model: 'm', metadata: nestedObject(100_000) };
    expect(errorOf(() => expandStudy(deep, { source: 'd.yaml' })).message).toMatch(
      /^d\.yaml: metadata\.a\.a\.a\.a\.a\.a\.a…: the document is nested too deeply/,
    );
    expect(errorOf(() => resolveExperimentConfig(deep)).message).toMatch(
      /^config: metadata\.a.*nested too deeply/,
    );
    const study = { model: 'm', sweep: { n: [1] }, experiments: [{ metadata: nestedList(100_000) }] };
    expect(errorOf(() => expandStudy(study)).message).toMatch(/^config: experiments\[0\]\.metadata\[0\]/);
    // A base file read by the caller is checked too.
    const based = { base: 'b.yaml', sweep: { n: [1] } };
    const readBaseFile = () => deep;
    expect(errorOf(() => expandStudy(based, { source: 's.yaml', readBaseFile })).message).toMatch(
      /^s\.yaml: base: .*b\.yaml: metadata\.a.*nested too deeply/,
    );
  });

  it('shared (not cyclic) values are fine, and binary values are still refused', () => {
    const shared = { tag: 'x' };
    const plan = expandStudy({ model: 'm', metadata: { a: shared, b: [shared, shared] } });
    expect(plan.experiments[0]!.config.metadata).toEqual({ a: shared, b: [shared, shared] });
    expect(() => assertConfigBounds({ a: new Uint8Array(2) }, 'bin.yaml')).toThrow(
      /bin\.yaml: a: unsupported YAML value type \(Uint8Array\)/,
    );
  });

  it('the helpers that recurse are iterative or bounded', () => {
    const cyc = cyclic();
    expect(errorOf(() => deepMerge(cyc, cyclic())).message).toMatch(/nested too deeply/);
    expect(() => canonicalize(cyc)).toThrow(TypeError);
    expect(canonicalize(nestedList(100_000))).toBe(`${'['.repeat(100_000)}1${']'.repeat(100_000)}`);
    expect(() => computeConfigHash({ model: 'm', decoder: cyc })).toThrow(/cyclic/);
    const path = Array.from({ length: 100_000 }, () => 'a').join('.');
    expect(errorOf(() => parseSetOverride(`${path}=1`)).message).toMatch(/nested too deeply/);
    expect(
      errorOf(() => expandStudy({ model: 'm', sweep: { [path]: [1] } }, { source: 's.yaml' })).message,
    ).toMatch(/^s\.yaml: sweep\['a\.a\.a\.a\.a\.a\.a\.a…'\]: the key is nested too deeply/);
  });
});

describe('huge inputs', () => {
  it('a 200,000-item list is valid where a list is valid (metadata), in YAML and JSON', () => {
    const items = Array.from({ length: 200_000 }, (_, i) => i);
    const yaml = parseConfigText(`model: x\nmetadata:\n  l: [${items.join(', ')}]\n`, 'big.yaml');
    expect((yaml.metadata as { l: number[] }).l).toEqual(items);
    const json = parseConfigText(JSON.stringify({ model: 'x', metadata: { l: items } }), 'big.json', 'json');
    expect(json).toEqual(yaml);
    expect(() => planExperiment(json)).not.toThrow();
  });

  it('200,000 bad items in a list, or 200,000 unknown keys, are ConfigErrors', () => {
    const gpus = Array.from({ length: 200_000 }, () => -1);
    const error = errorOf(() => resolveExperimentConfig({ model: 'm', gpus }, { source: 'g.yaml' }));
    expect(error.message.split('\n')[0]).toMatch(/^g\.yaml: gpus/);
    const decoder = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`k${i}`, 1]));
    expect(errorOf(() => resolveExperimentConfig({ model: 'm', decoder })).message).toMatch(
      /^decoder\.k0: unknown field 'k0'/,
    );
    const study = { model: 'm', experiments: Array.from({ length: 150_000 }, () => 1) };
    expect(errorOf(() => expandStudy(study, { source: 's.yaml' })).message).toMatch(/^s\.yaml: experiments/);
  });

  it('a sweep with more keys than MAX_SWEEP_KEYS is a ConfigError', () => {
    const sweep = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`k${i}`, 1]));
    expect(errorOf(() => expandStudy({ model: 'm', sweep }, { source: 's.yaml' })).message).toBe(
      's.yaml: sweep: 200000 keys, more than the limit of 1000.',
    );
  });

  it('a mapping of 50,000 keys is read in linear time, and a repeated key still names its line', () => {
    const keys = Array.from({ length: 50_000 }, (_, i) => `k${i}: ${i}`);
    const raw = parseConfigText(`model: x\nmetadata:\n  ${keys.join('\n  ')}\n`, 'wide.yaml');
    expect(Object.keys(raw.metadata as object)).toHaveLength(50_000);
    const error = errorOf(() =>
      parseConfigText(`model: x\nmetadata:\n  ${keys.join('\n  ')}\n  k7: again\n`, 'dup.yaml'),
    );
    expect(error.message).toBe('dup.yaml:50003:3: YAML error: Map keys must be unique');
    const flow = errorOf(() => parseConfigText('model: x\nd: {a: 1, b: 2, a: 3}\n', 'f.yaml'));
    expect(flow.message).toBe('f.yaml:2:17: YAML error: Map keys must be unique');
  });
});
