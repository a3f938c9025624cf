import { type ChildProcess, spawn } from 'node:child_process';
import { binPath } from '@llem/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { finished, jsonLines, llem, packageRoot, sandbox, startLlem, summaryOf, survivors } from './llem.js';

/**
 * What a new user sees (issue "A new user's day"): the built `llem` with the echo backend on a
 * two-key sweep x 2 cycles, energy estimated from the CPU's TDP (no energy counter here). The
 * run summary and `results show` tell the sweep points apart; live energy says what it counts;
 * `--json` is one camelCase object per line with a schemaVersion; `status` counts experiments
 * and runs, shows stale runs and labels; `results compare` names what differs and never calls
 * a single-cycle difference worse.
 */

const sweepStudy = (name: string, secondsPerRequest = 0.05) => `name: ${name}
model: echo-model
backend: echo
launch: local
n: 3
baseline: { enabled: false }
energy: { cpu_tdp_watts: 65, min_window_seconds: 0 }
echo: { seconds_per_request: ${secondsPerRequest} }
sweep:
  echo.output_tokens_per_request: [4, 8]
  echo.input_tokens_per_request: [5, 7]
cycles: 2
`;

/** Keys that hold data named by the user's config or by ids, not record keys of ours. */
const DATA_KEYS = new Set([
  'config',
  'experimentDefaults',
  'schema',
  'jobStates',
  'temperatures',
  'assignments',
]);

/** Every key of a record, recursively, data sections left out. */
function keysOf(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => keysOf(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) =>
    DATA_KEYS.has(key) ? [`${path}.${key}`] : [`${path}.${key}`, ...keysOf(v, `${path}.${key}`)],
  );
}

/** Every stdout line is one JSON object: `type` first, `schemaVersion` 1, camelCase keys only. */
function expectJsonLines(stdout: string): Record<string, unknown>[] {
  const lines = stdout.split('\n').filter((l) => l.length > 0);
  expect(lines.length).toBeGreaterThan(0);
  return lines.map((line) => {
    const record = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(record).slice(0, 2), line.slice(0, 200)).toEqual(['type', 'schemaVersion']);
    expect(record.schemaVersion).toBe(1);
    const snake = keysOf(record).filter((k) => /_/.test(k.split('.').pop() ?? ''));
    expect(snake, `${record.type}: ${line.slice(0, 300)}`).toEqual([]);
    return record;
  });
}

/** Table rows (cli-table3 `│ a │ b │`) as cell arrays, header first. */
function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('│'))
    .map((l) =>
      l
        .split('│')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
}

describe('a two-key sweep x 2 cycles, as a new user runs it', () => {
  const box = sandbox('fs');
  afterAll(() => box.remove());
  const path = box.write('sweep.yaml', sweepStudy('sweep'));
  let studyDir = '';
  let first: Awaited<ReturnType<typeof llem>>;

  it('the summary table has a column per swept key and one row per config with mean ± CI', async () => {
    first = await llem(['run', path], box.env);
    expect(first.code, first.stderr).toBe(0);
    const rows = tableRows(first.stdout);
    const header = rows[0]!;
    expect(header).toEqual(
      expect.arrayContaining(['echo.output_tokens_per_request', 'echo.input_tokens_per_request', 'n']),
    );
    const out = header.indexOf('echo.output_tokens_per_request');
    const inp = header.indexOf('echo.input_tokens_per_request');
    const body = rows.slice(1);
    expect(body).toHaveLength(4);
    // Every sweep point once: rows tell the configs apart.
    expect(new Set(body.map((r) => `${r[out]}/${r[inp]}`))).toEqual(new Set(['4/5', '4/7', '8/5', '8/7']));
    for (const row of body) {
      expect(row[header.indexOf('n')]).toBe('2');
      // Estimated energy (CPU TDP), marked as such, with its CI over the 2 cycles.
      expect(row[header.indexOf('J/token')]).toMatch(/^~[\d.e+-]+ ± [\d.e+-]+ \(est\.\)$/);
    }
    expect(first.stdout).toMatch(/Every row: model echo-model, backend echo/);
    expect(first.stdout).toMatch(/\(est\.\): estimated energy/);
    const dir = first.stdout.match(/Per cycle: llem results show (\S+) --per-cycle/);
    expect(dir, first.stdout).not.toBeNull();
    studyDir = dir![1]!;
  });

  it('plain progress: one start and one end line per measured run, J/token, tok/s and (est.), no step names', () => {
    const lines = first.stderr.split('\n');
    const done = lines.filter((l) => / done {7}/.test(l));
    expect(done).toHaveLength(8);
    for (const line of done) {
      expect(line).toMatch(/output_tokens_per_request=\d input_tokens_per_request=\d \(cycle \d\)/);
      expect(line).toMatch(/~[\d.e+-]+ J \(est\.\) {2}~[\d.e+-]+ J\/token \(est\.\) {2}[\d.e+-]+ tok\/s/);
    }
    expect(lines.filter((l) => / start {7}/.test(l))).toHaveLength(8);
    expect(first.stderr).not.toMatch(/measuring: loaded|: claiming|: writing/);
  });

  it('run again: a reused run prints one line, not a start line and a reused line', async () => {
    const again = await llem(['run', path], box.env);
    expect(again.code, again.stderr).toBe(0);
    const lines = again.stderr.split('\n');
    expect(lines.filter((l) => / reused {5}/.test(l))).toHaveLength(8);
    expect(lines.filter((l) => / start {7}/.test(l))).toEqual([]);
  });

  it('results show: per config by default, --per-cycle one row per experiment-cycle', async () => {
    const show = await llem(['results', 'show', studyDir], box.env);
    expect(show.code, show.stderr).toBe(0);
    expect(tableRows(show.stdout).slice(1)).toHaveLength(4);
    expect(show.stdout).toContain('8 result(s) of 4 config(s)');
    const perCycle = await llem(['results', 'show', studyDir, '--per-cycle'], box.env);
    expect(perCycle.code, perCycle.stderr).toBe(0);
    const rows = tableRows(perCycle.stdout);
    expect(rows[0]).toContain('Cycle');
    expect(rows.slice(1)).toHaveLength(8);

    const json = await llem(['results', 'show', studyDir, '--json'], box.env);
    const aggregates = expectJsonLines(json.stdout).filter((r) => r.type === 'aggregate') as {
      parameters: { key: string; value: unknown }[];
      n: number;
      energyJ: { mean: number; ci95: number | null };
      energyBasis: string;
    }[];
    expect(aggregates).toHaveLength(4);
    for (const a of aggregates) {
      expect(a.parameters.map((p) => p.key)).toEqual(
        expect.arrayContaining(['echo.output_tokens_per_request', 'echo.input_tokens_per_request']),
      );
      expect(a).toMatchObject({ n: 2, energyBasis: 'estimate' });
      expect(a.energyJ.ci95).not.toBeNull();
    }
  });

  it('results compare: a study directory is refused with its configs listed; one config each names what differs', async () => {
    const whole = await llem(['results', 'compare', studyDir, studyDir], box.env);
    expect(whole.code).toBe(2);
    expect(whole.stderr).toMatch(/^error: A: .* holds 4 configs/m);
    const picks = [...whole.stderr.matchAll(/(\S+@[0-9a-f]{8}) {2}(.*)/g)].map((m) => ({
      arg: m[1]!,
      label: m[2]!,
    }));
    expect(picks).toHaveLength(4);
    expect(whole.stderr).not.toMatch(/\n\s+at /);

    const a = picks.find((p) => p.label.includes('output_tokens_per_request=4 input_tokens_per_request=5'))!;
    const b = picks.find((p) => p.label.includes('output_tokens_per_request=8 input_tokens_per_request=5'))!;
    const compare = await llem(['results', 'compare', a.arg, b.arg], box.env);
    expect(compare.code, compare.stderr).toBe(0);
    expect(compare.stdout).toMatch(
      /Config differences \(A -> B\):\n {2}echo\.output_tokens_per_request: 4 -> 8\n/,
    );
    expect(compare.stdout).not.toMatch(/input_tokens_per_request: /);
    expect(compare.stdout).toMatch(/\(est\.\)/);

    const json = expectJsonLines(
      (await llem(['results', 'compare', a.arg, b.arg, '--json'], box.env)).stdout,
    );
    expect(json[0]).toMatchObject({
      type: 'compare',
      differences: [{ key: 'echo.output_tokens_per_request', a: [4], b: [8] }],
    });
    const rows = json.filter((r) => r.type === 'comparison');
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(['better', 'worse', 'within-noise', 'same', null]).toContain(row.verdict);
    expect(rows.find((r) => r.metric === 'energy_per_output_token_j')).toMatchObject({
      estimate: true,
      nA: 2,
      nB: 2,
    });
  });

  it('results compare at n=1: no better/worse, it says the noise is unknown', async () => {
    const summary = jsonLines((await llem(['run', path, '--json'], box.env)).stdout).find(
      (r) => r.type === 'summary',
    ) as { runs: { resultPath: string; configHash: string; cycle: number }[] };
    const runs = summary.runs.filter((r) => r.cycle === 1);
    const a = runs[0]!;
    const b = runs.find((r) => r.configHash !== a.configHash)!;
    const compare = await llem(['results', 'compare', a.resultPath, b.resultPath], box.env);
    expect(compare.code, compare.stderr).toBe(0);
    expect(compare.stdout).not.toMatch(/│ (better|worse)/);
    expect(compare.stdout).toMatch(/\? \(n=1\)/);
    expect(compare.stdout).toMatch(/one cycle on a side, so its noise is unknown/);
    const rows = jsonLines(
      (await llem(['results', 'compare', a.resultPath, b.resultPath, '--json'], box.env)).stdout,
    );
    for (const row of rows.filter((r) => r.type === 'comparison'))
      expect(['inconclusive', 'same', null]).toContain(row.verdict);
  });

  it('status: experiments and runs counted apart, nothing not started, config labels', async () => {
    const text = await llem(['status'], box.env);
    expect(text.code, text.stderr).toBe(0);
    const rows = tableRows(text.stdout);
    const header = rows[0]!;
    expect(header).toEqual(expect.arrayContaining(['experiments', 'runs', 'not started', 'stale']));
    const study = rows[1]!;
    expect(study[header.indexOf('experiments')]).toBe('4');
    expect(study[header.indexOf('runs')]).toBe('8');
    expect(study[header.indexOf('not started')]).toBe('0');
    expect(text.stdout).toMatch(/output_tokens_per_request=8 input_tokens_per_request=7/);

    const json = expectJsonLines((await llem(['status', '--json'], box.env)).stdout)[0] as {
      studies: Record<string, unknown>[];
      experiments: { label: string | null; stale: boolean }[];
    };
    expect(json.studies).toEqual([
      expect.objectContaining({ experiments: 4, runs: 8, done: 8, notStarted: 0, stale: 0 }),
    ]);
    for (const e of json.experiments)
      expect(e).toMatchObject({ label: expect.stringContaining('='), stale: false });
  });

  it('status --study with an unknown id: exit 2 naming the studies the store holds', async () => {
    const r = await llem(['status', '--study', 'nope'], box.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --study: no study 'nope' in the fs store at /m);
    expect(r.stderr).toMatch(/fix: Pick one of the studies .*: sweep-[0-9a-f]{8}/);
    expect(r.stderr).not.toContain('No experiments');
    const json = await llem(['status', '--study', 'nope', '--json'], box.env);
    expect(json.code).toBe(2);
    expect(expectJsonLines(json.stdout)[0]).toMatchObject({ type: 'error', exitCode: 2 });
  });
});

describe('--json everywhere: one camelCase object per line with a schemaVersion', () => {
  const box = sandbox('sqlite');
  afterAll(() => box.remove());
  // Windows of about 0.3 s: several energy samples each (every 100 ms).
  const path = box.write('sweep.yaml', sweepStudy('json', 0.1));

  it('run: progress, a run line per run with its metrics, a file-written line per file, the summary', async () => {
    const run = await llem(['run', path, '--json'], box.env);
    expect(run.code, run.stderr).toBe(0);
    const records = expectJsonLines(run.stdout);
    expect(records.find((r) => r.type === 'start')).toMatchObject({
      total: 8,
      estimatedSeconds: expect.any(Number),
    });
    const runs = records.filter((r) => r.type === 'run');
    expect(runs).toHaveLength(8);
    for (const r of runs)
      expect(r).toMatchObject({
        status: 'done',
        energyBasis: 'estimate',
        energyPerOutputTokenJ: expect.any(Number),
        outputTokensPerS: expect.any(Number),
        resultPath: expect.stringMatching(/result\.json$/),
      });
    const files = records.filter((r) => r.type === 'file-written');
    expect(files.filter((f) => f.role === 'result')).toHaveLength(8);
    expect(files.filter((f) => f.role === 'study-summary')).toHaveLength(1);
    expect(files.filter((f) => f.role === 'study-table').length).toBeGreaterThan(0);
    const summary = summaryOf(run.stdout) as unknown as {
      counts: Record<string, number>;
      runs: { metrics: { energyPerOutputTokenJ: number } | null }[];
      configs: unknown[];
    };
    expect(summary.counts).toMatchObject({ total: 8, done: 8, notRun: 0 });
    for (const r of summary.runs) expect(r.metrics?.energyPerOutputTokenJ).toEqual(expect.any(Number));
    expect(summary.configs).toHaveLength(4);

    // Live energy: the window's figure once the window opens, never more than since the start.
    const energy = records.filter((r) => r.type === 'progress' && r.kind === 'energy') as {
      estimatedJ: number;
      window: { estimatedJ: number; seconds: number } | null;
    }[];
    expect(energy.some((e) => e.window !== null)).toBe(true);
    for (const e of energy)
      if (e.window) expect(e.window.estimatedJ).toBeLessThanOrEqual(e.estimatedJ + 1e-9);
    // The last live figure of each run (at its window's end) is, within sampling, the energy its
    // result records (not the energy since the start, which counts loading too).
    for (const r of runs) {
      const last = (
        records.filter(
          (x) => x.type === 'progress' && x.kind === 'energy' && x.experimentId === r.experimentId,
        ) as {
          window: { estimatedJ: number } | null;
        }[]
      ).at(-1);
      expect(last?.window, String(r.experimentId)).toBeTruthy();
      const recorded = r.energyJ as number;
      expect(
        Math.abs(last!.window!.estimatedJ - recorded) / recorded,
        `${last!.window!.estimatedJ} vs ${recorded}`,
        // The live figure holds the last sample up to its moment; on a busy machine the sampler's
        // last reading can lag the window's end by a sampling period of a ~1 s window.
      ).toBeLessThan(0.5);
    }
    // The workload's events keep camelCase keys too.
    expect(records.find((r) => r.type === 'progress' && r.kind === 'workload')).toMatchObject({
      event: { tMonoNs: expect.any(String) },
    });
  });

  it('every other command, and a config error as an array of problems', async () => {
    for (const args of [
      ['status'],
      ['list'],
      ['cleanup'],
      ['results', 'show'],
      ['results', 'show', '--per-cycle'],
      ['config', 'validate', path],
      ['config', 'show', path],
      ['config', 'schema'],
      ['doctor'],
      ['run', path, '--dry-run'],
    ]) {
      const r = await llem([...args, '--json'], box.env);
      expect([0, 1], `${args.join(' ')}: ${r.stderr}`).toContain(r.code);
      expectJsonLines(r.stdout);
    }
    const bad = box.write('bad.yaml', 'model: m\nbackend: echo\nn: -1\nprecison: fp16\n');
    const r = await llem(['config', 'validate', bad, '--json'], box.env);
    expect(r.code).toBe(2);
    const [error] = expectJsonLines(r.stdout) as {
      problems: { file: string; path: string; message: string }[];
    }[];
    expect(error!.problems.length).toBeGreaterThanOrEqual(2);
    expect(error!.problems.map((p) => p.path)).toEqual(expect.arrayContaining(['n', 'precison']));
  });

  it('config show: the user config is "not found", never "(absent (built-in defaults))"', async () => {
    const r = await llem(['config', 'show'], box.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/user_config .*\(not found: built-in defaults apply\)/);
    expect(r.stdout).not.toContain('(absent');
  });
});

describe('a run whose process is gone shows as stale with the cleanup hint', () => {
  const box = sandbox('fs');
  afterAll(() => box.remove());
  const path = box.write('stale.yaml', sweepStudy('stale', 0.01));

  it('status: stale (not measuring), counted as stale, with `llem cleanup`', async () => {
    // llem SIGKILLs itself right after the first window ends: the run stays `measuring`.
    const r = await finished(
      startLlem(['run', path, '--json'], { ...box.env, LLEM_FAILPOINTS: 'window-ended@1' }),
    );
    expect(r.signal).toBe('SIGKILL');
    expect(await survivors(box.dir)).toEqual([]);
    const text = await llem(['status'], box.env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/│ stale /);
    expect(text.stdout).toMatch(/1 run\(s\) are stale .*run `llem cleanup`/);
    const json = jsonLines((await llem(['status', '--json'], box.env)).stdout)[0] as {
      studies: { stale: number; measuring: number }[];
      experiments: { stale: boolean; phase: string }[];
    };
    expect(json.studies[0]).toMatchObject({ stale: 1, measuring: 0 });
    expect(json.experiments.filter((e) => e.stale)).toEqual([
      expect.objectContaining({ phase: 'measuring' }),
    ]);
    // cleanup marks it failed (stale); status no longer shows it as stale.
    expect((await llem(['cleanup'], box.env)).code).toBe(0);
    const after = jsonLines((await llem(['status', '--json'], box.env)).stdout)[0] as {
      studies: { stale: number; failed: number }[];
    };
    expect(after.studies[0]).toMatchObject({ stale: 0, failed: 1 });
  });
});

/** Runs the built llem on a pseudo-terminal 80 columns wide (util-linux `script`), stdin writable. */
function onTerminal(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  const command = `stty cols 80 rows 40; exec ${[process.execPath, binPath, ...args].map((a) => `'${a}'`).join(' ')}`;
  return spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: packageRoot,
    env: { ...env, TERM: 'xterm' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** The lines a terminal would show: ANSI sequences dropped, each line what follows its last `\r`. */
function screenLines(raw: string): string[] {
  return raw
    .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
    .split('\n')
    .map((l) => l.slice(l.lastIndexOf('\r', l.length - 2) + 1).replace(/\r$/, ''));
}

describe('the live view on a terminal', () => {
  const box = sandbox('fs');
  afterAll(() => box.remove());
  const path = box.write('live.yaml', sweepStudy('live', 0.4).replace('cycles: 2', 'cycles: 1'));

  it('swept values in 80 columns, words not step names, window energy, an ETA; Ctrl+C on a clean line', async () => {
    const child = onTerminal(['run', path], box.env);
    child.stdin!.on('error', () => {}); // it may have exited already
    let raw = '';
    let sent = false;
    const interrupted = new Promise<void>((resolve) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        raw += chunk.toString('utf8');
        // Ctrl+C once, as a user types it (the terminal sends SIGINT and echoes ^C), in the third run.
        if (
          !sent &&
          /\[3\/4\] ETA/.test(raw) &&
          /in the window so far/.test(raw.slice(raw.lastIndexOf('[3/4]')))
        ) {
          sent = true;
          child.stdin!.write('\x03');
          resolve();
        }
      });
    });
    const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await Promise.race([interrupted, exit]);
    const code = await exit;
    expect(code, raw.slice(-3000)).toBe(130);
    const lines = screenLines(raw);
    // The live block and the finished lines, up to the interrupt: each fits in 80 columns.
    for (const line of screenLines(raw.slice(0, raw.indexOf('Received SIGINT'))))
      expect(line.replace('^C', '').length, line.slice(0, 200)).toBeLessThanOrEqual(80);
    expect(raw).toMatch(/output_tokens_per_request=4 input_tokens_per_request=5/);
    expect(raw).toMatch(/ETA \d+(\.\d)?s|ETA \d+m/);
    expect(raw).toMatch(/in the window so far/);
    expect(raw).not.toMatch(/measuring: loaded|measuring: warmup|claiming|collecting/);
    // The interrupt notice starts its own line: whatever the terminal echoed (^C) was erased first.
    const notice = raw.indexOf('Received SIGINT');
    expect(notice).toBeGreaterThan(0);
    const before = raw.slice(raw.lastIndexOf('\n', notice) + 1, notice);
    expect(before.lastIndexOf('^C'), JSON.stringify(raw.slice(notice - 300, notice + 100))).toBeLessThan(
      before.lastIndexOf('\r'),
    );
    expect(lines.find((l) => l.includes('Received SIGINT'))).toMatch(/^Received SIGINT/);
  });
});
