import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  isSafePath,
  MAX_EXPERIMENT_ID_LENGTH,
  resolveInside,
  sanitizeExperimentId,
  slugify,
} from '../src/index.js';

describe('sanitizeExperimentId', () => {
  it.each(['exp-1', 'a', 'gpt2_bf16.b4', 'A9', 'x'.repeat(MAX_EXPERIMENT_ID_LENGTH)])(
    'accepts %s unchanged',
    (id) => {
      expect(sanitizeExperimentId(id)).toBe(id);
    },
  );

  it.each([
    ['empty', '', /empty/],
    ['dot-dot', '..', /\.\./],
    ['embedded dot-dot', 'a..b', /\.\./],
    ['slash', 'a/b', /separator/],
    ['backslash', 'a\\b', /separator/],
    ['absolute', '/etc/passwd', /separator|absolute/],
    ['NUL', 'a\0b', /NUL/],
    ['too long', 'x'.repeat(MAX_EXPERIMENT_ID_LENGTH + 1), /limit is 128/],
    ['leading dot', '.hidden', /starts with/],
    ['leading dash', '-rf', /starts with/],
    ['space', 'a b', /characters outside/],
    ['non-ASCII', 'café', /characters outside/],
  ])('rejects %s with a ConfigError (exit 2) that names the problem', (_, id, pattern) => {
    let thrown: unknown;
    try {
      sanitizeExperimentId(id);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).exitCode).toBe(2);
    expect((thrown as Error).message).toMatch(pattern);
  });

  it('never maps two different inputs to one id: it returns its input or throws', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (id) => {
        try {
          expect(sanitizeExperimentId(id)).toBe(id);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('slugify always yields an accepted id fragment', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (text) => {
        expect(sanitizeExperimentId(slugify(text))).toBe(slugify(text));
      }),
      { numRuns: 300 },
    );
  });
});

describe('isSafePath / resolveInside', () => {
  let base: string;
  let outside: string;
  beforeAll(async () => {
    const root = await mkdtemp(join(tmpdir(), 'llem-ids-'));
    base = join(root, 'base');
    outside = join(root, 'outside');
    await mkdir(join(base, 'sub'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, 'secret'), 'x');
    await symlink(outside, join(base, 'escape-dir'));
    await symlink(join(outside, 'secret'), join(base, 'escape-file'));
    await symlink(join(base, 'sub'), join(base, 'inner-link'));
    await symlink(join(outside, 'missing-target'), join(base, 'dangling-out'));
  });
  afterAll(async () => {
    await rm(join(base, '..'), { recursive: true, force: true });
  });

  it.each(['file.json', 'sub', 'sub/deeper/new.json', '.', 'inner-link/x.json'])('%s is inside', (name) => {
    expect(isSafePath(base, name)).toBe(true);
    expect(resolveInside(base, name).startsWith(base)).toBe(true);
  });

  it.each([
    ['parent', '..'],
    ['parent file', '../outside/secret'],
    ['sneaky', 'sub/../../outside'],
    ['absolute', '/etc/passwd'],
    ['NUL', 'a\0b'],
    ['symlinked dir', 'escape-dir/secret'],
    ['symlinked file', 'escape-file'],
    ['new file under a symlinked dir', 'escape-dir/new.json'],
  ])('%s (%s) escapes', (_, name) => {
    expect(isSafePath(base, name)).toBe(false);
    expect(() => resolveInside(base, name)).toThrow(ConfigError);
  });

  it('compares whole components: a sibling sharing a prefix is outside', () => {
    expect(isSafePath(base, `${base}-evil/x`)).toBe(false);
  });

  it('the error names the offending path and says how to fix it', () => {
    try {
      resolveInside(base, '../outside/secret');
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).message).toContain('"../outside/secret"');
      expect((error as ConfigError).fix).toMatch(/symlinks/);
    }
  });
});
