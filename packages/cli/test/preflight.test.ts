import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { filesUnder, jsonLines, type LlemResult, llem, sandbox, tinyStudy } from './llem.js';

/** Two experiments (a sweep): a problem they share must still be reported once. */
const study = (extra = '') => tinyStudy('pre', extra);

/** Exit 2 before anything started: `error:` lines naming the setting, no stack, nothing stored. */
function expectStopped(r: LlemResult, box: ReturnType<typeof sandbox>): string[] {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).toMatch(/nothing was run/);
  expect(filesUnder(box.resultsDir)).toEqual([]);
  expect(filesUnder(box.stateDir).filter((f) => f.endsWith('.json'))).toEqual([]);
  return r.stderr.split('\n').filter((line) => line.startsWith('error: '));
}

describe('the preflight of llem run and --dry-run', () => {
  it('LLEM_PYTHON that does not exist: one line naming LLEM_PYTHON, for run and --dry-run', async () => {
    const box = sandbox(join('/nonexistent', 'python3'));
    const path = box.write('s.yaml', study());
    for (const extra of [[], ['--dry-run']]) {
      const errors = expectStopped(await llem(['run', path, ...extra], box.env), box);
      expect(errors).toEqual(['error: LLEM_PYTHON: /nonexistent/python3 does not exist']);
    }
  });

  it('--launch docker without a daemon: one line naming --launch, not one failure per run', async () => {
    const box = sandbox(inject('python'));
    const path = box.write('s.yaml', study());
    const r = await llem(['run', path, '--launch', 'docker'], {
      ...box.env,
      LLEM_DOCKER: join(box.dir, 'no-docker-here'),
    });
    const errors = expectStopped(r, box);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^error: --launch: Docker cannot start pytorch workloads here: no docker client/,
    );
    expect(r.stderr).toMatch(/fix: .*--launch local/);
  });

  it('a missing dataset file is found before the run; a relative path is read from the config file folder', async () => {
    const box = sandbox(inject('python'));
    mkdirSync(join(box.dir, 'studies'));
    const path = box.write('studies/s.yaml', study('dataset: prompts.jsonl\n'));
    const missing = await llem(['run', path, '--dry-run'], box.env, box.dir);
    expect(expectStopped(missing, box)).toEqual([
      `error: dataset.path in ${path}: ${join(box.dir, 'studies', 'prompts.jsonl')} does not exist`,
    ]);
    // The file beside the config is found whatever the current directory.
    box.write('studies/prompts.jsonl', '{"prompt": "one"}\n{"prompt": "two"}\n');
    const hashes: unknown[] = [];
    for (const cwd of [box.dir, join(box.dir, 'studies'), '/']) {
      const r = await llem(['run', path, '--dry-run', '--json'], box.env, cwd);
      expect(r.code, r.stderr).toBe(0);
      const records = jsonLines(r.stdout);
      expect(records[0]).toMatchObject({
        type: 'preflight',
        ok: true,
        checks: expect.arrayContaining([
          { name: 'dataset', status: 'ok', detail: join(box.dir, 'studies', 'prompts.jsonl') },
        ]),
      });
      const plan = records.find((line) => line.type === 'plan') as { experiments: { configHash: string }[] };
      hashes.push(plan.experiments.map((e) => e.configHash));
    }
    // The hash is over the path as written: the same from every directory.
    expect(new Set(hashes.map((h) => JSON.stringify(h))).size).toBe(1);
  });

  it('an unknown model offline: one line naming the flag that set it, with the fix, before any run', async () => {
    const box = sandbox(inject('python'));
    const path = box.write('s.yaml', study());
    const r = await llem(['run', path, '--model', 'no-such-org/no-such-model'], box.env);
    const errors = expectStopped(r, box);
    expect(errors).toEqual([
      'error: --model: no-such-org/no-such-model is not in the Hugging Face cache and the Hub is offline (HF_HUB_OFFLINE)',
    ]);
    expect(r.stderr).toMatch(/fix: Download it while online/);
    // Written in the file, the file is named.
    const inFile = await llem(
      ['run', box.write('m.yaml', study().replace('builtin:tiny-gpt2', 'no-such-org/m'))],
      box.env,
    );
    expect(expectStopped(inFile, box)[0]).toMatch(
      new RegExp(`^error: model in ${box.dir}/m\\.yaml: no-such-org/m is not in`),
    );
  });

  it('--dry-run lists every check; a dataset dir that is not a folder is named', async () => {
    const box = sandbox(inject('python'));
    const path = box.write('e.yaml', 'model: builtin:tiny-gpt2\nlaunch: local\nn: 2\n');
    const ok = await llem(['run', path, '--dry-run'], box.env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^ {2}ok {4}python: .*torch .*transformers/m);
    expect(ok.stdout).toMatch(
      /^ {2}ok {4}dataset: aienergyscore: .*llem_harness\/data\/aienergyscore\.jsonl$/m,
    );
    expect(ok.stdout).toMatch(/^ {2}ok {4}results dir: /m);
    const bad = await llem(['run', path, '--dry-run'], { ...box.env, LLEM_DATASET_DIR: path });
    expect(expectStopped(bad, box)).toEqual([`error: LLEM_DATASET_DIR: ${path} is not a directory`]);
  });
});

describe('llem doctor', () => {
  it('never says ok for a python that does not exist', async () => {
    const box = sandbox('/nonexistent/python3');
    const r = await llem(['doctor', '--json'], box.env);
    const [report] = jsonLines(r.stdout) as [
      { ok: boolean; checks: { name: string; status: string; detail: string }[] },
    ];
    expect(r.code).toBe(1);
    expect(report.ok).toBe(false);
    const python = report.checks.filter((c) => c.detail.includes('/nonexistent/python3'));
    expect(python).toEqual([
      expect.objectContaining({ status: 'fail', detail: 'LLEM_PYTHON: /nonexistent/python3 does not exist' }),
    ]);
  });
});
