import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import type { SamplerTrace } from '../../src/index.js';
import { readTimeseriesCsv, timeseriesColumns, writeTimeseries } from '../../src/results/index.js';
import { tempDir } from '../../src/testing/result-fixtures.js';

const START = 9_007_199_254_740_993_000n; // beyond 2^53 ns: relative times must still be exact
const s = (seconds: number) => START + BigInt(Math.round(seconds * 1e9));

function traces(): SamplerTrace[] {
  return [
    {
      sampler: 'nvml',
      intervalMs: 100,
      devices: [
        {
          device: { id: 'gpu0', kind: 'gpu', name: 'H100' },
          source: 'counter',
          readings: [
            { tMonoNs: s(-0.5), energyMj: 1_000_000_000_000, powerW: 70.1234, temperatureC: 40 },
            {
              tMonoNs: s(0),
              energyMj: 1_000_000_000_050,
              powerW: 300,
              temperatureC: 41,
              smClockMhz: 1980,
              throttleReasons: 4,
              memoryUsedBytes: 80_000_000_000,
            },
            { tMonoNs: s(1), energyMj: 1_000_000_300_050, powerW: 310, temperatureC: 45 },
            { tMonoNs: s(1.2), energyMj: 1_000_000_360_050, powerW: 95, temperatureC: 44 },
          ],
        },
      ],
    },
    {
      sampler: 'rapl',
      intervalMs: 100,
      devices: [
        {
          device: { id: 'cpu-package-0', kind: 'cpu', name: 'Xeon' },
          source: 'counter',
          readings: [{ tMonoNs: s(0.5), energyMj: 12.5 }],
        },
      ],
    },
  ];
}

describe('writeTimeseries', () => {
  it('writes one row per reading to CSV and Parquet, relative to the window, with in_window flags', async () => {
    const dir = await tempDir();
    const files = await writeTimeseries(dir, traces(), { startNs: s(0), endNs: s(1) });
    expect(files).toEqual({ timeseries_csv: 'timeseries.csv', timeseries_parquet: 'timeseries.parquet' });
    expect((await readdir(dir)).sort()).toEqual(['timeseries.csv', 'timeseries.parquet']);

    const csv = await readFile(join(dir, 'timeseries.csv'), 'utf8');
    expect(csv.split('\n')[0]).toBe(
      't_rel_s,device_id,sampler,source,power_w,energy_mj,temperature_c,sm_clock_mhz,throttle_reasons,memory_used_bytes,utilisation_pct,in_window',
    );
    const rows = await readTimeseriesCsv(join(dir, 'timeseries.csv'));
    expect(rows.map((r) => [r.t_rel_s, r.device_id, r.in_window])).toEqual([
      [-0.5, 'gpu0', false],
      [0, 'gpu0', true],
      [1, 'gpu0', true],
      [1.2, 'gpu0', false],
      [0.5, 'cpu-package-0', true],
    ]);
    expect(rows[0]?.power_w).toBe(70.123);
    expect(rows[1]).toMatchObject({
      sm_clock_mhz: 1980,
      throttle_reasons: 4,
      memory_used_bytes: 80_000_000_000,
      sampler: 'nvml',
      source: 'counter',
    });
    expect(rows[4]?.power_w).toBeNull();

    const buffer = await readFile(join(dir, 'timeseries.parquet'));
    const file = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
    const objects = await parquetReadObjects({ file });
    expect(objects).toHaveLength(5);
    expect(objects[1]).toMatchObject({
      t_rel_s: 0,
      device_id: 'gpu0',
      power_w: 300,
      energy_mj: 1_000_000_000_050,
      in_window: true,
      memory_used_bytes: 80_000_000_000n,
    });
    expect(objects[4]).toMatchObject({ device_id: 'cpu-package-0', power_w: null, energy_mj: 12.5 });
    const kv = parquetMetadata(file).key_value_metadata ?? [];
    expect(kv).toContainEqual({ key: 'llem.window_start_mono_ns', value: s(0).toString() });
  });

  it('accepts the result.json window and drops readings beyond the margin', async () => {
    const dir = await tempDir();
    const window = { start_mono_ns: s(0).toString(), end_mono_ns: s(1).toString() };
    const files = await writeTimeseries(dir, traces(), window, {
      marginS: 0.1,
      formats: ['csv'],
      baseName: 'power',
    });
    expect(files).toEqual({ timeseries_csv: 'power.csv' });
    const rows = await readTimeseriesCsv(join(dir, 'power.csv'));
    expect(rows.map((r) => r.t_rel_s)).toEqual([0, 1, 0.5]);
  });

  it('writes header-only files when there are no readings', async () => {
    const dir = await tempDir();
    await writeTimeseries(dir, [], { startNs: 0n, endNs: 1n });
    expect(await readTimeseriesCsv(join(dir, 'timeseries.csv'))).toEqual([]);
    const buffer = await readFile(join(dir, 'timeseries.parquet'));
    expect(
      await parquetReadObjects({
        file: buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength),
      }),
    ).toEqual([]);
  });

  it('flattens a long multi-GPU trace into columns of equal length', () => {
    const devices = Array.from({ length: 8 }, (_, g) => ({
      device: { id: `gpu${g}`, kind: 'gpu' as const, name: 'H100' },
      source: 'counter' as const,
      readings: Array.from({ length: 600 }, (_, i) => ({
        tMonoNs: s(i / 10),
        energyMj: i * 30,
        powerW: 300 + (i % 7),
      })),
    }));
    const columns = timeseriesColumns([{ sampler: 'nvml', intervalMs: 100, devices }], {
      startNs: s(0),
      endNs: s(59.9),
    });
    expect(new Set(columns.map((c) => c.values.length))).toEqual(new Set([4800]));
  });
});
