/**
 * `pnpm bench stores`: config hashing, and save/load/findByConfigHash latency of both stores
 * with 10,000 experiments stored. Baselines in the same run: a bare writeFileSync+fsync of the
 * same JSON, a bare read+parse, and bare SQLite statements on an equally sized table.
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  canonicalize,
  computeConfigHash,
  createState,
  type ExperimentState,
  resolveExperimentConfig,
  type StateStore,
  sha256Hex,
} from '@llem/core';
import { createFsStateStore } from '@llem/state-fs';
import { createSqliteStateStore } from '@llem/state-sqlite';
import { type BenchRow, type BenchSuite, median } from '../types.js';

/** The part of better-sqlite3 the bare baseline uses (it is state-sqlite's dependency, not the bench's). */
interface BareStatement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
}
interface BareDatabase {
  pragma(source: string): unknown;
  exec(source: string): void;
  prepare(source: string): BareStatement;
  transaction(fn: () => void): () => void;
  close(): void;
}
const Database = createRequire(new URL('../../packages/state-sqlite/package.json', import.meta.url))(
  'better-sqlite3',
) as new (
  path: string,
) => BareDatabase;

const STORED = 10_000;
const DISTINCT_HASHES = 2_500; // four cycles of each config, as a study with repetitions would store
const SAMPLES = 300;
const suiteName = 'stores';

function p95(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!;
}

function hashOf(i: number): string {
  return sha256Hex(`config-${i % DISTINCT_HASHES}`).slice(0, 16);
}

function opsPerSecond(fn: () => unknown, ms = 500): number {
  for (let i = 0; i < 200; i++) fn();
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < ms) {
    for (let i = 0; i < 100; i++) fn();
    count += 100;
  }
  return count / ((performance.now() - start) / 1000);
}

function hashRows(): BenchRow[] {
  const { config } = resolveExperimentConfig({ model: 'gpt2', n: 50, decoder: { preset: 'deterministic' } });
  const hashesPerSecond = opsPerSecond(() => computeConfigHash(config));
  const bare = opsPerSecond(() => sha256Hex(JSON.stringify(config)));
  const canonicalPerSecond = opsPerSecond(() => canonicalize(config));
  return [
    {
      suite: suiteName,
      name: 'computeConfigHash (resolved config, JCS + SHA-256)',
      value: hashesPerSecond,
      unit: 'ops/s',
      baseline: { name: 'sha256(JSON.stringify)', value: bare },
    },
    {
      suite: suiteName,
      name: 'canonicalize (RFC 8785) alone',
      value: canonicalPerSecond,
      unit: 'ops/s',
      baseline: { name: 'sha256(JSON.stringify)', value: bare },
    },
  ];
}

async function populate(store: StateStore): Promise<void> {
  for (let i = 0; i < STORED; i++) {
    await store.create(`exp-${i}`, hashOf(i), {
      studyId: `study-${i % 10}`,
      cycle: Math.floor(i / DISTINCT_HASHES),
    });
  }
}

interface Latencies {
  save: number[];
  load: number[];
  find: number[];
}

/** The bare way of doing the same work, timed sample by sample next to the store (same load, same disk). */
interface Bare {
  write(n: number): void;
  read(n: number): void;
  find(n: number): void;
}

function time(fn: () => void): number {
  const started = performance.now();
  fn();
  return performance.now() - started;
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

async function measure(store: StateStore, bare: Bare): Promise<{ store: Latencies; bare: Latencies }> {
  const ours: Latencies = { save: [], load: [], find: [] };
  const theirs: Latencies = { save: [], load: [], find: [] };
  const idOf = (n: number) => `exp-${(n * 7919) % STORED}`;
  for (let n = 0; n < SAMPLES; n++) {
    const state = (await store.load(idOf(n)))!;
    const next: ExperimentState = {
      ...state,
      attempt: state.attempt + 1,
      lastUpdated: new Date().toISOString(),
    };
    theirs.save.push(time(() => bare.write(n)));
    ours.save.push(await timeAsync(() => store.save(next)));
  }
  for (let n = 0; n < SAMPLES; n++) {
    theirs.load.push(time(() => bare.read(n)));
    ours.load.push(await timeAsync(() => store.load(idOf(n + 1))));
  }
  for (let n = 0; n < SAMPLES; n++) {
    theirs.find.push(time(() => bare.find(n)));
    ours.find.push(await timeAsync(() => store.findByConfigHash(hashOf(n * 31))));
  }
  return { store: ours, bare: theirs };
}

function bareFiles(dir: string, json: string): Bare {
  const path = (n: number) => join(dir, `raw-${n % 50}.json`);
  const write = (n: number) => {
    const fd = openSync(path(n), 'w');
    writeSync(fd, json);
    fsyncSync(fd);
    closeSync(fd);
  };
  for (let n = 0; n < 50; n++) write(n);
  const read = (n: number) => JSON.parse(readFileSync(path(n), 'utf8'));
  return { write, read, find: read };
}

function bareSqlite(dir: string, json: string): Bare & { close(): void } {
  const db = new Database(join(dir, 'raw.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(
    'CREATE TABLE t (id TEXT PRIMARY KEY, config_hash TEXT, data TEXT); CREATE INDEX t_hash ON t (config_hash)',
  );
  const insert = db.prepare('INSERT OR REPLACE INTO t VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < STORED; i++) insert.run(`exp-${i}`, hashOf(i), json);
  })();
  const byId = db.prepare('SELECT data FROM t WHERE id = ?');
  const byHash = db.prepare('SELECT data FROM t WHERE config_hash = ? LIMIT 1');
  return {
    write: (n) => insert.run(`exp-${(n * 7919) % STORED}`, hashOf(n), json),
    read: (n) => JSON.parse((byId.get(`exp-${(n * 7919) % STORED}`) as { data: string }).data),
    find: (n) => JSON.parse((byHash.get(hashOf(n * 31)) as { data: string }).data),
    close: () => db.close(),
  };
}

function latencyRows(
  store: string,
  measured: { store: Latencies; bare: Latencies },
  names: { write: string; read: string },
  findTargetMs: number,
): BenchRow[] {
  const row = (name: string, value: number, baseline: { name: string; value: number }, target?: number) => ({
    suite: suiteName,
    name: `${store} ${name} @ ${STORED.toLocaleString('en')}`,
    value,
    unit: 'ms',
    baseline,
    ...(target === undefined ? {} : { target: `< ${target} ms`, ok: value < target }),
  });
  const { store: ours, bare } = measured;
  return [
    row('save (fsync) median', median(ours.save), { name: names.write, value: median(bare.save) }, 5),
    row('save (fsync) p95', p95(ours.save), { name: names.write, value: p95(bare.save) }),
    row('load median', median(ours.load), { name: names.read, value: median(bare.load) }),
    row('load p95', p95(ours.load), { name: names.read, value: p95(bare.load) }),
    row(
      'findByConfigHash median',
      median(ours.find),
      { name: names.read, value: median(bare.find) },
      findTargetMs,
    ),
    row('findByConfigHash p95', p95(ours.find), { name: names.read, value: p95(bare.find) }, findTargetMs),
  ];
}

export const suite: BenchSuite = {
  name: suiteName,
  async run() {
    const rows = hashRows();
    const dir = mkdtempSync(join(tmpdir(), 'llem-bench-stores-'));
    try {
      const state = { ...createState('exp-1', hashOf(1)), revision: 1 };
      // Filling 10,000 records without fsync is only setup; the measured stores sync every write.
      const fsDir = join(dir, 'fs');
      const fsFiller = await createFsStateStore({ dir: fsDir, durable: false });
      await populate(fsFiller);
      await fsFiller.close();
      const fsStore = await createFsStateStore({ dir: fsDir });
      const fsMeasured = await measure(fsStore, bareFiles(dir, `${JSON.stringify(state, null, 2)}\n`));
      await fsStore.close();
      rows.push(
        ...latencyRows('fs', fsMeasured, { write: 'writeFileSync+fsync', read: 'readFileSync+parse' }, 5),
      );

      const dbPath = join(dir, 'state.sqlite');
      const sqliteFiller = await createSqliteStateStore({ path: dbPath, durable: false });
      await populate(sqliteFiller);
      await sqliteFiller.close();
      const sqliteStore = await createSqliteStateStore({ path: dbPath });
      const bare = bareSqlite(dir, JSON.stringify(state));
      const sqliteMeasured = await measure(sqliteStore, bare);
      bare.close();
      await sqliteStore.close();
      rows.push(
        ...latencyRows(
          'sqlite',
          sqliteMeasured,
          { write: 'bare INSERT (WAL, FULL)', read: 'bare indexed SELECT+parse' },
          1,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return rows;
  },
};
