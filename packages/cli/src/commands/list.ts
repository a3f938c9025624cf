import { readResults } from '@llem/core/results';
import Table from 'cli-table3';
import type { Output } from '../output.js';
import { resolveSettings } from '../settings.js';

interface Group {
  study: string;
  results: number;
  models: Set<string>;
  configs: Set<string>;
  lastFinished: string;
}

/** `llem list`: the studies and experiments that have results in the results directory. */
export async function listCommand(flags: { resultsDir?: string }, out: Output): Promise<number> {
  const dir = resolveSettings({ resultsDir: flags.resultsDir }).resultsDir.value;
  const { existsSync } = await import('node:fs');
  const { results, problems } = existsSync(dir) ? await readResults(dir) : { results: [], problems: [] };
  const groups = new Map<string, Group>();
  for (const { result } of results) {
    const key = result.study_id ?? '(single experiments)';
    const group = groups.get(key) ?? {
      study: key,
      results: 0,
      models: new Set(),
      configs: new Set(),
      lastFinished: '',
    };
    group.results++;
    group.models.add(result.model);
    group.configs.add(result.config_hash);
    if (result.timings.finished_utc > group.lastFinished) group.lastFinished = result.timings.finished_utc;
    groups.set(key, group);
  }
  const rows = [...groups.values()].sort((a, b) => b.lastFinished.localeCompare(a.lastFinished));
  if (out.json) {
    out.record({
      type: 'list',
      resultsDir: dir,
      studies: rows.map((g) => ({
        study: g.study,
        results: g.results,
        configs: g.configs.size,
        models: [...g.models],
        lastFinished: g.lastFinished,
      })),
      problems,
    });
    return 0;
  }
  if (rows.length === 0) {
    out.line(`No results in ${dir}.`);
    // Unreadable files are reported even when nothing else is listed: never silently dropped.
    for (const p of problems) out.info(`warning: ${p.path}: ${p.reason}`);
    return 0;
  }
  const table = new Table({
    head: ['Study', 'Results', 'Configs', 'Models', 'Last finished (UTC)'],
    style: { head: [], border: [] },
  });
  for (const g of rows)
    table.push([g.study, g.results, g.configs.size, [...g.models].join(', '), g.lastFinished]);
  out.line(table.toString());
  for (const p of problems) out.info(`warning: ${p.path}: ${p.reason}`);
  return 0;
}
