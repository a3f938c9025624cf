import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/index.js';
import {
  ASIDE_DIR_NAME,
  adoptCommittedResults,
  expandStudy,
  type FailpointName,
  runStudy,
} from '../../src/orchestration/index.js';
import { RESULT_FILE_NAME } from '../../src/results/index.js';
import { catalogOf, readLedger, scriptBackend } from '../../src/testing/script-backend.js';
import { JsonFileTestStore } from './helpers/json-file-store.js';
import { ProcessGroupTestRunner } from './helpers/process-runner.js';

/**
 * A result.json is the commit record of a measurement. A llem killed after committing a result
 * and before saving `done` leaves a measuring state with a dead owner: the next run adopts the
 * result (done, not measured again); `llem cleanup` does too. A result that is not the attempt's
 * own is set aside, never overwritten. The kills are real: a child process running a study is
 * SIGKILLed by its own fail point.
 */

let dir: string;
let stateDir: string;
let ledger: string;
let resultsDir: string;
/** The study (its `script.ledger` counts the measured windows, in this process or a child). */
let doc: Record<string, unknown>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llem-adopt-'));
  stateDir = join(dir, 'state');
  ledger = join(dir, 'ledger.txt');
  resultsDir = join(dir, 'results');
  doc = {
    name: 'adopt',
    model: 'org/tiny',
    backend: 'script',
    n: 2,
    script: { ledger },
    sweep: { 'script.output_tokens': [3, 5] },
  };
});

const store = () => new JsonFileTestStore(stateDir);
const options = () => ({
  store: store(),
  runner: new ProcessGroupTestRunner(),
  backends: catalogOf(scriptBackend()),
  resultsDir,
  writeTable: false,
});
const measured = () => readLedger(ledger);

/** Runs the study in a child process that SIGKILLs itself at the fail point. */
function crashAt(point: FailpointName, hit = 1): Promise<NodeJS.Signals | null> {
  const child = fileURLToPath(new URL('./helpers/run-study-child.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--conditions=dev-source', '--import', 'tsx', child, JSON.stringify({ doc, stateDir, resultsDir })],
      {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        env: { ...process.env, LLEM_FAILPOINTS: `${point}@${hit}` },
        stdio: 'ignore',
      },
    );
    proc.on('error', reject);
    proc.on('close', (_code, signal) => resolve(signal));
  });
}

const resultFiles = () =>
  (readdirSync(resultsDir, { recursive: true, encoding: 'utf8' }) as string[]).filter(
    (f) => f.endsWith(RESULT_FILE_NAME) && !f.split('/').some((p) => p.startsWith('.')),
  );

describe('result adoption after a crash', () => {
  it('adopts a result committed before llem died, instead of measuring again', async () => {
    expect(await crashAt('result-committed')).toBe('SIGKILL');
    const plan = expandStudy(doc, { backends: options().backends });
    const first = plan.runs[0]!;
    const crashed = await store().load(first.experimentId);
    expect(crashed).toMatchObject({ phase: 'measuring', failed: false, attempt: 1 });
    expect(crashed!.resultPath).toMatch(/result\.json$/);
    const committed = await readFile(crashed!.resultPath!, 'utf8');
    expect(await measured()).toEqual([first.experimentId]);

    const summary = await runStudy(doc, options());
    expect(summary.runs[0]).toMatchObject({ status: 'reused', attempt: 1, resultPath: crashed!.resultPath });
    expect(summary.counts).toMatchObject({ total: 2, reused: 1, done: 1, failed: 0 });
    // Measured once: the ledger has one window per run, and the committed file is untouched.
    expect((await measured()).sort()).toEqual(plan.runs.map((r) => r.experimentId).sort());
    expect(await readFile(crashed!.resultPath!, 'utf8')).toBe(committed);
    expect(await store().load(first.experimentId)).toMatchObject({
      phase: 'done',
      failed: false,
      failureKind: null,
      attempt: 1,
    });
    expect(existsSync(join(summary.studyDir, '.llem-work', first.experimentId))).toBe(false);
  });

  it('adopts a result whose stale state was already marked failed (cleanup ran first)', async () => {
    expect(await crashAt('result-committed', 2)).toBe('SIGKILL');
    const plan = expandStudy(doc, { backends: options().backends });
    const second = plan.runs[1]!;
    expect(await store().cleanupStale()).toEqual([second.experimentId]);
    expect(await store().load(second.experimentId)).toMatchObject({ failed: true, failureKind: 'stale' });

    const summary = await runStudy(doc, options());
    expect(summary.counts).toMatchObject({ reused: 2, done: 0, failed: 0 });
    expect((await measured()).sort()).toEqual(plan.runs.map((r) => r.experimentId).sort());
    expect(await store().load(second.experimentId)).toMatchObject({
      phase: 'done',
      failed: false,
      attempt: 1,
    });
  });

  it('adoptCommittedResults (llem cleanup) makes a crashed attempt done from its result', async () => {
    expect(await crashAt('result-committed')).toBe('SIGKILL');
    const plan = expandStudy(doc, { backends: options().backends });
    expect(await adoptCommittedResults(store(), systemClock)).toEqual([plan.runs[0]!.experimentId]);
    expect(await store().load(plan.runs[0]!.experimentId)).toMatchObject({ phase: 'done', failed: false });
    // Nothing else to adopt; the second run was never started.
    expect(await adoptCommittedResults(store(), systemClock)).toEqual([]);
  });

  it('measures again when llem died before the result was committed (staged only)', async () => {
    expect(await crashAt('result-staged')).toBe('SIGKILL');
    expect(resultFiles()).toEqual([]);
    const summary = await runStudy(doc, options());
    expect(summary.counts).toMatchObject({ done: 2, failed: 0 });
    expect(summary.runs[0]).toMatchObject({ status: 'done', attempt: 2 });
    expect(resultFiles()).toHaveLength(2);
  });

  it('a state saved done before the kill is reused, its scratch folder removed', async () => {
    expect(await crashAt('state-done')).toBe('SIGKILL');
    const summary = await runStudy(doc, options());
    expect(summary.counts).toMatchObject({ reused: 1, done: 1 });
    expect(existsSync(join(summary.studyDir, '.llem-work', summary.runs[0]!.experimentId))).toBe(false);
  });

  it('sets a result that is not the attempt’s own aside, never overwriting it, and measures again', async () => {
    expect(await crashAt('result-committed')).toBe('SIGKILL');
    const crashed = (await store().list({ phase: 'measuring' }))[0]!;
    // The file at the state's result path now claims another attempt (e.g. written by hand or by an older llem).
    const text = await readFile(crashed.resultPath!, 'utf8');
    const foreign = text.replace('"attempt": 1', '"attempt": 7');
    await writeFile(crashed.resultPath!, foreign);

    const summary = await runStudy(doc, options());
    expect(summary.runs[0]).toMatchObject({ status: 'done', attempt: 2 });
    const asideDir = join(summary.studyDir, ASIDE_DIR_NAME);
    const aside = readdirSync(asideDir);
    expect(aside).toHaveLength(1);
    expect(aside[0]).toMatch(/replaced-by-attempt-2$/);
    expect(await readFile(join(asideDir, aside[0]!, RESULT_FILE_NAME), 'utf8')).toBe(foreign);
    expect(JSON.parse(await readFile(crashed.resultPath!, 'utf8')).attempt).toBe(2);
  });
});
