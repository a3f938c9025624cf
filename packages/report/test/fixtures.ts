import type { ExperimentResult } from '@llem/core';
import type { TimeseriesRow } from '@llem/core/results';
import { makeResult, powerRow } from '@llem/core/testing';

/**
 * A 2-cycle sweep (batch size × temperature) whose cycles differ enough that the Student-t 95 %
 * interval of two cycles (t = 12.7) reaches far below zero on both J/token and tok/s; the batch
 * size 1 runs carry one warning each, and the first config has a power timeseries per cycle.
 */
export function twoCycleSweep(): {
  results: ExperimentResult[];
  timeseries: Record<string, TimeseriesRow[]>;
} {
  const results: ExperimentResult[] = [];
  for (let cycle = 0; cycle < 2; cycle++)
    for (const batchSize of [1, 4, 16])
      for (const temperature of [0.5, 1])
        results.push(
          makeResult({
            batchSize,
            cycle,
            config: { decoder: { temperature } },
            energyJ: 1000 / batchSize + temperature * 50 + cycle * 40 * (batchSize % 5),
            windowS: 10 / Math.sqrt(batchSize) + cycle * 0.8,
            warnings: batchSize === 1 ? ['GPU clock throttled during the window'] : [],
          }),
        );
  const timeseries: Record<string, TimeseriesRow[]> = {};
  for (const r of results.filter((r) => r.config_hash === results[0]?.config_hash))
    timeseries[r.experiment_id] = [0, 1, 2, 3, 4, 5].map((i) =>
      powerRow({ t_rel_s: i, power_w: 200 + i * 10 + (r.cycle ?? 0) * 20, in_window: true }),
    );
  return { results, timeseries };
}
