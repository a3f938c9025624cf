import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyOverrides,
  deepMerge,
  detectConfigKind,
  loadConfigFile,
  parseConfigText,
  parseSetOverride,
} from '../src/config/load.js';
import { ConfigError } from '../src/errors.js';
import { configErrorOf as errorOf } from './helpers/config-error.js';

const dir = mkdtempSync(join(tmpdir(), 'llem-load-'));
function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('loadConfigFile', () => {
  it('reads a YAML experiment and a JSON study', () => {
    const exp = loadConfigFile(file('e.yaml', 'model: builtin:tiny-gpt2\nn: 8\n'));
    expect(exp).toMatchObject({ kind: 'experiment', raw: { model: 'builtin:tiny-gpt2', n: 8 } });
    const study = loadConfigFile(file('s.json', '{"model": "m", "sweep": {"precision": ["fp32"]}}'));
    expect(study.kind).toBe('study');
  });

  it('names a missing file and an unsupported suffix', () => {
    expect(errorOf(() => loadConfigFile(join(dir, 'nope.yaml'))).message).toMatch(
      /nope\.yaml: config file not found/,
    );
    const bad = errorOf(() => loadConfigFile(file('c.toml', 'a=1')));
    expect(bad.message).toMatch(/unsupported config file type '\.toml'/);
    expect(bad.fix).toMatch(/\.yaml/);
  });

  it('gives line:column for YAML syntax errors', () => {
    const path = file('bad.yaml', 'model: gpt2\nn: [1,\nprecision: fp32\n');
    const error = errorOf(() => loadConfigFile(path));
    expect(error.message).toMatch(new RegExp(`${path.replace(/[.]/g, '\\.')}:\\d+:\\d+: YAML error`));
  });

  it('rejects duplicate keys in YAML and JSON, naming the line', () => {
    expect(errorOf(() => loadConfigFile(file('dup.yaml', 'model: a\nn: 1\nmodel: b\n'))).message).toMatch(
      /dup\.yaml:3:1: .*unique/,
    );
    expect(errorOf(() => loadConfigFile(file('dup.json', '{"n": 1,\n "n": 2}'))).message).toMatch(
      /dup\.json:2:\d+: .*unique/,
    );
  });

  it('gives line:column for JSON syntax errors', () => {
    expect(errorOf(() => loadConfigFile(file('bad.json', '{"n": 1,\n "m": }'))).message).toMatch(
      /bad\.json:2:\d+: JSON syntax error/,
    );
  });

  it('stops an alias bomb', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++)
      lines.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(', ')}]`,
      );
    const error = errorOf(() => loadConfigFile(file('bomb.yaml', `${lines.join('\n')}\n`)));
    expect(error.message).toMatch(/too many YAML aliases/);
  });

  it('allows a few anchors and merge keys', () => {
    const raw = parseConfigText('common: &c {n: 4}\nwarmup:\n  <<: *c\n', 'x.yaml');
    expect(raw).toEqual({ common: { n: 4 }, warmup: { n: 4 } });
  });

  it('rejects a non-mapping root, an empty file, extra documents and custom tags', () => {
    expect(errorOf(() => parseConfigText('- a\n- b\n', 'l.yaml')).message).toMatch(
      /l\.yaml: the top level must be a mapping .* got a list/,
    );
    expect(errorOf(() => parseConfigText('42\n', 'n.yaml')).message).toMatch(/got a number/);
    expect(errorOf(() => parseConfigText('\n# nothing\n', 'e.yaml')).message).toMatch(
      /e\.yaml: the file is empty/,
    );
    expect(errorOf(() => parseConfigText('a: 1\n---\nb: 2\n', 'm.yaml')).fix).toMatch(/one document/);
    expect(errorOf(() => parseConfigText('a: !foo x\n', 't.yaml')).message).toMatch(/t\.yaml:1:4/);
  });

  it('rejects invalid UTF-8 naming the line', () => {
    const bytes = Buffer.concat([
      Buffer.from('model: a\nname: '),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('\n'),
    ]);
    const error = errorOf(() => loadConfigFile(file('latin.yaml', bytes)));
    expect(error.message).toMatch(/latin\.yaml:2: the file is not valid UTF-8/);
  });
});

describe('detectConfigKind', () => {
  it('calls a file with sweep/experiments/cycles a study, name alone does not', () => {
    expect(detectConfigKind({ model: 'm', name: 'x' })).toBe('experiment');
    for (const key of ['sweep', 'experiments', 'cycles', 'order', 'gaps'])
      expect(detectConfigKind({ [key]: 1 })).toBe('study');
  });
});

describe('overrides', () => {
  it('parses --set values as YAML', () => {
    expect(parseSetOverride('n=8')).toEqual({ path: ['n'], value: 8 });
    expect(parseSetOverride('decoder.preset=deterministic')).toEqual({
      path: ['decoder', 'preset'],
      value: 'deterministic',
    });
    expect(parseSetOverride('gpus=[0, 1]')).toEqual({ path: ['gpus'], value: [0, 1] });
    expect(parseSetOverride('min_p=')).toEqual({ path: ['min_p'], value: null });
    expect(() => parseSetOverride('novalue')).toThrow(ConfigError);
    expect(() => parseSetOverride('__proto__.x=1')).toThrow(ConfigError);
  });

  it('sets dotted keys in an experiment without touching the input', () => {
    const raw = { model: 'm', pytorch: { batch_size: 1, torch_compile: false } };
    const out = applyOverrides(raw, 'experiment', [{ path: ['pytorch', 'batch_size'], value: 4 }]);
    expect(out).toEqual({ model: 'm', pytorch: { batch_size: 4, torch_compile: false } });
    expect(raw.pytorch.batch_size).toBe(1);
  });

  it('in a study, wins over the sweep and explicit experiments', () => {
    const raw = {
      model: 'm',
      sweep: { 'pytorch.batch_size': [1, 2], precision: ['fp32', 'fp16'] },
      experiments: [{ model: 'x', pytorch: { batch_size: 8 } }],
    };
    const out = applyOverrides(raw, 'study', [{ path: ['pytorch', 'batch_size'], value: 4 }]);
    expect(out.sweep).toEqual({ precision: ['fp32', 'fp16'] });
    expect(out.pytorch).toEqual({ batch_size: 4 });
    expect(out.experiments).toEqual([{ model: 'x', pytorch: { batch_size: 4 } }]);
  });

  it('deepMerge merges mappings and replaces the rest', () => {
    expect(deepMerge({ a: { b: 1, c: 2 }, l: [1] }, { a: { c: 3 }, l: [2] })).toEqual({
      a: { b: 1, c: 3 },
      l: [2],
    });
  });
});
