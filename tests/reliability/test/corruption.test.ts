import { readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoStudy, filesUnder, llem, sandbox, statusOf } from './llem.js';

/**
 * Corrupt state records and result files: truncated, empty, non-JSON and future-schema. Each is
 * reported by name; `llem status` and `llem results show` skip them and list the rest; `llem run`
 * refuses to guess (exit 1 naming the record); none is ever silently dropped or overwritten.
 */

type Damage = 'truncated' | 'empty' | 'not-json' | 'future-schema';
const DAMAGES: Damage[] = ['truncated', 'empty', 'not-json', 'future-schema'];

function damage(path: string, kind: Damage, versionKey: string): void {
  if (kind === 'truncated') truncateSync(path, Math.floor(readFileSync(path).length / 2));
  else if (kind === 'empty') writeFileSync(path, '');
  else if (kind === 'not-json') writeFileSync(path, 'not json at all {');
  else writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), [versionKey]: 99 }));
}

const bytesOf = (paths: string[]) => paths.map((p) => readFileSync(p).toString('base64'));

describe('corrupt state records (fs store)', () => {
  const box = sandbox('fs');
  afterAll(() => box.remove());
  const study = box.write('study.yaml', echoStudy('corrupt-fs', 5));
  let damaged: string[] = [];
  let intact: string;

  beforeAll(async () => {
    const seeded = await llem(['run', study], box.env);
    expect(seeded.code, seeded.stderr).toBe(0);
    const records = readdirSync(box.stateDir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => join(box.stateDir, f));
    expect(records).toHaveLength(5);
    damaged = records.slice(0, 4);
    intact = records[4]!;
    for (const [i, path] of damaged.entries()) damage(path, DAMAGES[i]!, 'schemaVersion');
  });

  it('llem status reports each corrupt record by file name and still lists the intact one', async () => {
    const before = bytesOf(damaged);
    const { experiments, corrupt } = await statusOf(box.env);
    expect(experiments.map((e) => `${e.experimentId}.json`)).toEqual([basename(intact)]);
    expect(corrupt).toHaveLength(4);
    for (const path of damaged)
      expect(
        corrupt.some((m) => m.includes(path)),
        path,
      ).toBe(true);
    expect(corrupt.find((m) => m.includes(damaged[3]!))).toMatch(/schemaVersion 99/);
    const human = await llem(['status'], box.env);
    expect(human.code).toBe(0);
    for (const path of damaged) expect(human.stderr).toContain(path);
    expect(bytesOf(damaged)).toEqual(before);
  });

  it('llem run refuses to overwrite a corrupt record: exit 1 naming it, the file untouched', async () => {
    const before = bytesOf(damaged);
    const r = await llem(['run', study], box.env);
    expect(r.code).toBe(1);
    expect(
      damaged.some((path) => r.stderr.includes(path)),
      r.stderr,
    ).toBe(true);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(bytesOf(damaged)).toEqual(before);
  });

  it('llem cleanup --quarantine moves the unreadable records aside byte for byte; a newer-schema one stays', async () => {
    const before = bytesOf(damaged);
    const r = await llem(['cleanup', '--quarantine', '--json'], box.env);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      quarantined: { id: string; to: string }[];
      unreadable: string[];
    };
    const moved = damaged.slice(0, 3);
    expect(report.quarantined.map((q) => `${q.id}.json`).sort()).toEqual(
      moved.map((p) => basename(p)).sort(),
    );
    for (const [i, path] of moved.entries()) {
      const entry = report.quarantined.find((q) => `${q.id}.json` === basename(path))!;
      expect(readFileSync(entry.to).toString('base64')).toBe(before[i]);
    }
    expect(report.unreadable).toHaveLength(1);
    expect(report.unreadable[0]).toContain(damaged[3]!);
    const { corrupt } = await statusOf(box.env);
    expect(corrupt).toHaveLength(1);
    expect(bytesOf([damaged[3]!])).toEqual([before[3]]);
  });
});

describe('corrupt state rows (sqlite store)', () => {
  const box = sandbox('sqlite');
  afterAll(() => box.remove());
  const study = box.write('study.yaml', echoStudy('corrupt-sqlite', 3));
  const dbPath = () => join(box.stateDir, 'state.sqlite');

  it('reports a non-JSON row and a future-schema row by id, and never rewrites them', async () => {
    const seeded = await llem(['run', study], box.env);
    expect(seeded.code, seeded.stderr).toBe(0);
    const db = new Database(dbPath());
    const ids = (db.prepare('SELECT id FROM experiments ORDER BY id').all() as { id: string }[]).map(
      (r) => r.id,
    );
    expect(ids).toHaveLength(3);
    const data = (id: string) =>
      (db.prepare('SELECT data FROM experiments WHERE id = ?').get(id) as { data: string }).data;
    db.prepare('UPDATE experiments SET data = ? WHERE id = ?').run('{"truncated": ', ids[0]);
    db.prepare('UPDATE experiments SET data = ? WHERE id = ?').run(
      JSON.stringify({ ...JSON.parse(data(ids[1]!)), schemaVersion: 99 }),
      ids[1],
    );
    const before = [data(ids[0]!), data(ids[1]!)];
    db.close();

    const { experiments, corrupt } = await statusOf(box.env);
    expect(experiments.map((e) => e.experimentId)).toEqual([ids[2]]);
    expect(corrupt).toHaveLength(2);
    for (const id of ids.slice(0, 2))
      expect(
        corrupt.some((m) => m.includes(id!)),
        id,
      ).toBe(true);

    const r = await llem(['run', study], box.env);
    expect(r.code).toBe(1);
    expect(
      ids.slice(0, 2).some((id) => r.stderr.includes(id!)),
      r.stderr,
    ).toBe(true);

    const after = new Database(dbPath(), { readonly: true });
    const now = ids
      .slice(0, 2)
      .map(
        (id) => (after.prepare('SELECT data FROM experiments WHERE id = ?').get(id) as { data: string }).data,
      );
    after.close();
    expect(now).toEqual(before);
  });
});

describe('corrupt result files', () => {
  const box = sandbox('fs');
  afterAll(() => box.remove());
  const study = box.write('study.yaml', echoStudy('corrupt-results', 5));

  it('llem results show names each damaged result.json, shows the intact one, and leaves the files', async () => {
    const seeded = await llem(['run', study], box.env);
    expect(seeded.code, seeded.stderr).toBe(0);
    const results = filesUnder(box.resultsDir)
      .filter((f) => /(^|\/)result\.json$/.test(f))
      .map((f) => join(box.resultsDir, f));
    expect(results).toHaveLength(5);
    const damaged = results.slice(0, 4);
    for (const [i, path] of damaged.entries()) damage(path, DAMAGES[i]!, 'schema_version');
    const before = bytesOf(damaged);
    const studyDir = join(
      box.resultsDir,
      readdirSync(box.resultsDir).find((d) => d.startsWith('corrupt-results'))!,
    );

    const r = await llem(['results', 'show', studyDir], box.env);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    for (const path of damaged) expect(r.stderr, path).toContain(path);
    expect(r.stdout).toContain('echo-model');
    const list = await llem(['list'], box.env);
    expect(list.code).toBe(0);
    for (const path of damaged) expect(list.stderr, path).toContain(path);
    expect(bytesOf(damaged)).toEqual(before);
  });

  it('llem list names damaged results even when no result is readable', async () => {
    const all = filesUnder(box.resultsDir)
      .filter((f) => /(^|\/)result\.json$/.test(f))
      .map((f) => join(box.resultsDir, f));
    writeFileSync(all[4]!, '');
    const list = await llem(['list'], box.env);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('No results');
    for (const path of all) expect(list.stderr, path).toContain(path);
  });
});
