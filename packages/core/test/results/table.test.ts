import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { parseCsv, type TableColumn, tableToCsv, writeTable } from '../../src/results/index.js';
import { tempDir } from '../../src/testing/result-fixtures.js';

describe('tables', () => {
  it('CSV round-trips any text, including commas, quotes and line breaks', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string(), fc.string()), { minLength: 1, maxLength: 8 }), (pairs) => {
        const columns: TableColumn[] = [
          { name: 'a,"b"', type: 'string', values: pairs.map((p) => p[0]) },
          { name: 'c\nd', type: 'string', values: pairs.map((p) => p[1]) },
        ];
        const { header, rows } = parseCsv(tableToCsv(columns));
        expect(header).toEqual(['a,"b"', 'c\nd']);
        expect(rows).toEqual(pairs.map(([a, b]) => [a, b]));
      }),
      { numRuns: 200 },
    );
  });

  it('writes typed Parquet columns with nulls, int64 as bigint', async () => {
    const dir = await tempDir();
    const written = await writeTable(join(dir, 't'), [
      { name: 'name', type: 'string', values: ['Qwen/Qwen2.5, "0.5B"', null] },
      { name: 'bytes', type: 'int64', values: [80e9, null] },
      { name: 'ok', type: 'boolean', values: [true, null] },
      { name: 'x', type: 'double', values: [Number.NaN, 1.5] },
    ]);
    expect(written).toEqual({ csv: join(dir, 't.csv'), parquet: join(dir, 't.parquet') });
    expect(await readFile(join(dir, 't.csv'), 'utf8')).toBe(
      'name,bytes,ok,x\n"Qwen/Qwen2.5, ""0.5B""",80000000000,true,\n,,,1.5\n',
    );
    const buffer = await readFile(join(dir, 't.parquet'));
    const rows = await parquetReadObjects({
      file: buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength),
    });
    expect(rows).toEqual([
      { name: 'Qwen/Qwen2.5, "0.5B"', bytes: 80_000_000_000n, ok: true, x: null },
      { name: null, bytes: null, ok: null, x: 1.5 },
    ]);
  });

  it('refuses columns of different lengths', () => {
    expect(() =>
      tableToCsv([
        { name: 'a', type: 'int32', values: [1] },
        { name: 'b', type: 'int32', values: [] },
      ]),
    ).toThrow(/'b' has 0 values, expected 1/);
  });
});
