import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import {
  aggregateByConfig,
  allWarnings,
  flattenConfig,
  parseCsv,
  varyingParameters,
  writeStudyTable,
} from '../../src/results/index.js';
import { makeResult, tempDir } from '../../src/testing/result-fixtures.js';

async function readParquet(path: string): Promise<Record<string, unknown>[]> {
  const buffer = await readFile(path);
  return parquetReadObjects({
    file: buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength),
  });
}

function csvObjects(text: string): Record<string, string>[] {
  const { header, rows } = parseCsv(text);
  return rows.map((row) => Object.fromEntries(header.map((h, i) => [h, row[i] ?? ''])));
}

/** A 2×2 sweep (batch size × temperature), 3 cycles each. */
function sweep() {
  const results = [];
  for (let cycle = 0; cycle < 3; cycle++) {
    for (const batchSize of [1, 8]) {
      for (const temperature of [0.5, 1]) {
        results.push(
          makeResult({
            batchSize,
            cycle,
            config: { decoder: { temperature } },
            energyJ: 1000 / batchSize + cycle * 10,
            windowS: 10 + cycle,
          }),
        );
      }
    }
  }
  return results;
}

describe('study table', () => {
  it('flattens scalar config leaves and finds the swept ones', () => {
    const results = sweep();
    expect(flattenConfig(results[0]?.config ?? {})).toMatchObject({
      'decoder.temperature': 0.5,
      'pytorch.batch_size': 1,
      precision: 'fp32',
      'dataset.source': 'aienergyscore',
    });
    expect(Object.keys(flattenConfig({ id: 'x', output_dir: '/tmp', gpus: [0, 1] }))).toEqual(['gpus']);
    // batch size has its own column, so only the temperature is a swept parameter here
    expect(varyingParameters(results)).toEqual(['decoder.temperature']);
    expect(varyingParameters([results[0] as never])).toEqual([]);
  });

  it('writes study and aggregate tables as CSV and Parquet with the same content', async () => {
    const dir = await tempDir();
    const results = sweep();
    const files = await writeStudyTable(dir, results);
    expect(files).toEqual({
      study_csv: 'study.csv',
      aggregate_csv: 'aggregate.csv',
      study_parquet: 'study.parquet',
      aggregate_parquet: 'aggregate.parquet',
    });

    const study = csvObjects(await readFile(join(dir, 'study.csv'), 'utf8'));
    expect(study).toHaveLength(12);
    const first = study[0] as Record<string, string>;
    expect(first).toMatchObject({
      cycle: '0',
      model: 'builtin:tiny-gpt2',
      backend: 'pytorch',
      precision: 'fp32',
      batch_size: '1',
      'decoder.temperature': '0.5',
      energy_measured_j: '1000',
      energy_adjusted_j: '600',
      energy_per_output_token_j: '0.6',
      output_tokens_per_s: '100',
      ttft_p50_ms: '25',
      quality_ok: 'true',
      warnings_count: '0',
    });
    const studyParquet = await readParquet(join(dir, 'study.parquet'));
    expect(studyParquet).toHaveLength(12);
    expect(studyParquet[0]).toMatchObject({
      experiment_id: first.experiment_id,
      batch_size: 1,
      'decoder.temperature': 0.5,
      energy_measured_j: 1000,
      quality_ok: true,
    });

    const aggregate = await readParquet(join(dir, 'aggregate.parquet'));
    expect(aggregate).toHaveLength(4);
    const bs1 = aggregate[0] as Record<string, number>;
    // energy 1000, 1010, 1020 J over cycles: mean 1010, std 10, ci = t(0.975, 2) * 10 / sqrt(3)
    expect(bs1.n).toBe(3);
    expect(bs1.energy_measured_j_mean).toBeCloseTo(1010, 9);
    expect(bs1.energy_measured_j_std).toBeCloseTo(10, 9);
    expect(bs1.energy_measured_j_ci95).toBeCloseTo((4.302653 * 10) / Math.sqrt(3), 4);
    expect(csvObjects(await readFile(join(dir, 'aggregate.csv'), 'utf8'))[0]).toMatchObject({
      n: '3',
      label: 'bs=1 · temperature=0.5',
    });
  });

  it('gives null spread for a single cycle and counts warnings and quality per config', () => {
    const one = makeResult({ qualityOk: false, warnings: ['GPU was shared'] });
    const [aggregate] = aggregateByConfig([one]);
    expect(aggregate?.n).toBe(1);
    expect(aggregate?.stats.energy_measured_j).toEqual({ n: 1, mean: 500, std: null, ci95: null });
    expect(aggregate?.quality_ok).toBe(false);
    expect(aggregate?.warnings_count).toBe(2);
  });

  it('counts a quality warning once when the result already repeats it in warnings', () => {
    const copied = makeResult({
      qualityOk: false,
      warnings: ['energy warn: short-window: window shorter than 5 s'],
    });
    expect(allWarnings(copied)).toEqual(['energy warn: short-window: window shorter than 5 s']);
    expect(allWarnings(makeResult({ qualityOk: false }))).toEqual([
      'energy warn: short-window: window shorter than 5 s',
    ]);
  });

  it('writes empty tables for an empty study', async () => {
    const dir = await tempDir();
    await writeStudyTable(dir, []);
    expect(await readParquet(join(dir, 'aggregate.parquet'))).toEqual([]);
    expect((await readFile(join(dir, 'study.csv'), 'utf8')).split('\n')[0]).toMatch(
      /^experiment_id,config_hash,/,
    );
  });
});
