import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { echoStudy, filesUnder, jsonLines, llem, sandbox } from './llem.js';

/**
 * Hostile ids and names: `..`, absolute paths, path separators and NUL in an experiment id or a
 * study name are refused with exit 2 and one error line naming the field; nothing is written.
 */

const experiment = `model: echo-model
backend: echo
launch: local
n: 1
baseline: { enabled: false }
energy: { enabled: false }
`;

describe('hostile ids and paths', () => {
  const box = sandbox('fs');
  afterAll(() => box.remove());

  const cases: [string, string, string][] = [
    ['id with ..', 'id: "../x"', 'id'],
    ['id that is ..', 'id: ".."', 'id'],
    ['absolute id', 'id: "/etc/passwd"', 'id'],
    ['id with a slash', 'id: "a/b"', 'id'],
    ['id with a backslash', 'id: "a\\\\b"', 'id'],
    ['id with NUL', 'id: "a\\0b"', 'id'],
    ['id over 128 characters', `id: "${'a'.repeat(129)}"`, 'id'],
    ['study name with ..', 'name: "../escape"\nsweep: { n: [1, 2] }', 'name'],
    ['absolute study name', 'name: "/tmp/escape"\nsweep: { n: [1, 2] }', 'name'],
    ['study name with NUL', 'name: "a\\0b"\nsweep: { n: [1, 2] }', 'name'],
  ];

  it.each(cases)('%s: exit 2 naming the field, nothing written', async (_label, line, field) => {
    const path = box.write('hostile.yaml', `${experiment}${line}\n`);
    const r = await llem(['run', path], box.env);
    expect(r.code, r.stderr).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^error: .*hostile\\.yaml.*\\b${field}\\b`));
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(filesUnder(box.resultsDir)).toEqual([]);
    expect(filesUnder(box.stateDir).filter((f) => f.endsWith('.json'))).toEqual([]);
  });

  it('a study folder that is a symlink out of the results directory: exit 2, nothing written there', async () => {
    const path = box.write('linked.yaml', echoStudy('linked', 2));
    const plan = await llem(['run', path, '--dry-run', '--json'], box.env);
    const studyId = jsonLines(plan.stdout).find((line) => line.type === 'plan')!.studyId as string;
    const outside = join(box.dir, 'outside-study');
    mkdirSync(outside);
    mkdirSync(box.resultsDir, { recursive: true });
    symlinkSync(outside, join(box.resultsDir, studyId));
    const r = await llem(['run', path], box.env);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`^error: .*${studyId} is a symlink that leads out of the results directory`),
    );
    expect(filesUnder(outside)).toEqual([]);
  });

  it('an experiment folder that is a symlink out of the results directory: exit 2', async () => {
    const path = box.write('inner.yaml', echoStudy('inner', 1));
    const first = await llem(['run', path, '--json'], box.env);
    expect(first.code, first.stderr).toBe(0);
    const studyId = jsonLines(first.stdout).find((l) => l.type === 'summary')!.studyId as string;
    const outside = join(box.dir, 'outside-experiment');
    mkdirSync(outside);
    symlinkSync(outside, join(box.resultsDir, studyId, 'planted'));
    const r = await llem(['run', path, '--force'], box.env);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('planted is a symlink that leads out of the results directory');
    expect(filesUnder(outside)).toEqual([]);
  });
});
