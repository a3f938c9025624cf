import { chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import {
  filesUnder,
  finished,
  jsonLines,
  llem,
  processesMentioning,
  sandbox,
  startLlem,
  tinyStudy,
} from './llem.js';

describe('reused runs into a new results directory', () => {
  it('copies the reused results there, with the study tables, and says so', async () => {
    const box = sandbox(inject('python'));
    // The default dataset: the AI Energy Score prompts shipped with llem, offline (HF_HUB_OFFLINE=1).
    const path = box.write('s.yaml', tinyStudy('reuse'));
    const first = await llem(['run', path, '--results-dir', join(box.dir, 'r1')], box.env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/2 measured, 0 reused, 0 failed of 2/);

    const second = await llem(['run', path, '--results-dir', join(box.dir, 'r2')], box.env, box.dir);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/0 measured, 2 reused, 0 failed of 2/);
    expect(second.stdout).toMatch(/2 reused result\(s\) copied into this results directory from r1\/reuse-/);
    const [study] = readdirSync(join(box.dir, 'r2'));
    const files = filesUnder(join(box.dir, 'r2', study!));
    expect(files.filter((f) => f.endsWith('/result.json'))).toHaveLength(2);
    expect(files).toEqual(expect.arrayContaining(['study.json', 'study.csv']));
    // The first directory is untouched.
    expect(filesUnder(join(box.dir, 'r1')).filter((f) => f.endsWith('/result.json'))).toHaveLength(2);

    // A third time into r2: nothing to copy, nothing overwritten.
    const third = await llem(['run', path, '--results-dir', join(box.dir, 'r2'), '--json'], box.env);
    const summary = jsonLines(third.stdout).find((r) => r.type === 'summary') as {
      runs: { status: string; copiedFrom?: string }[];
    };
    expect(summary.runs.map((r) => [r.status, r.copiedFrom ?? null])).toEqual([
      ['reused', null],
      ['reused', null],
    ]);
  });
});

describe('datasets', () => {
  it('LLEM_DATASET_DIR reaches the workload: its aienergyscore.jsonl is read instead of the shipped one', async () => {
    const box = sandbox(inject('python'));
    mkdirSync(join(box.dir, 'data'));
    box.write('data/aienergyscore.jsonl', '{"_provenance": "test"}\n{"prompt": "only one"}\n');
    const path = box.write(
      'e.yaml',
      'model: builtin:tiny-gpt2\nlaunch: local\nprecision: fp32\nn: 2\nmax_output_tokens: 4\nbaseline: {enabled: false}\nwarmup: {enabled: false}\nenergy: {enabled: false}\n',
    );
    const r = await llem(['run', path], { ...box.env, LLEM_DATASET_DIR: join(box.dir, 'data') });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/dataset aienergyscore has only 1 prompts .* but n=2/);
  });
});

describe('--set is blamed for its own mistakes', () => {
  it('names the flag, not the YAML file', async () => {
    const box = sandbox(inject('python'));
    for (const [name, text] of [
      ['s.yaml', tinyStudy('blame')],
      ['e.yaml', 'model: builtin:tiny-gpt2\nn: 2\n'],
    ] as const) {
      const path = box.write(name, text);
      for (const command of [
        ['run', path],
        ['run', path, '--dry-run'],
      ]) {
        const r = await llem([...command, '--set', 'decoder.temprature=0.5'], box.env);
        expect(r.code, r.stderr).toBe(2);
        const lines = r.stderr.trimEnd().split('\n');
        expect(lines[0]).toBe(
          "error: --set decoder.temprature: unknown field 'temprature' (did you mean 'temperature'?)",
        );
        expect(r.stderr).not.toContain(name);
        expect(r.stderr).toMatch(/^fix: Fix the flag/m);
      }
    }
    // A problem in the file is still the file's.
    const bad = box.write('bad.yaml', 'model: builtin:tiny-gpt2\nn: -1\n');
    const r = await llem(['run', bad, '--set', 'decoder.temperature=0.5'], box.env);
    expect(r.stderr).toMatch(/^error: .*bad\.yaml: n: /);
  });
});

describe('a reader that goes away', () => {
  it('ends a command quietly: no EPIPE stack trace', async () => {
    const box = sandbox(inject('python'));
    const values = Array.from({ length: 300 }, (_, i) => i + 1).join(', ');
    const path = box.write('big.yaml', `model: builtin:tiny-gpt2\nsweep:\n  n: [${values}]\n`);
    for (const args of [
      ['config', 'show', path],
      ['config', 'schema'],
    ]) {
      const child = startLlem(args, box.env);
      // Like `| head -1`: read the first chunk, then close the pipe.
      child.stdout!.once('data', () => child.stdout!.destroy());
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      expect(stderr, args.join(' ')).toBe('');
      expect(code, args.join(' ')).toBe(0);
    }
  });
});

describe('llem setup pytorch', () => {
  it("shows pip's progress, and SIGTERM stops provision.sh and pip (no orphans, no finished venv)", async () => {
    const box = sandbox();
    // A bootstrap python whose venv's pip prints like pip, then takes its time.
    const fakeVenvPython = [
      '#!/bin/sh',
      'case "$*" in',
      '  *--upgrade*) exit 0 ;;',
      `  *requirements*) echo "Collecting torch==2.9.1 (from -r requirements.txt)" >&2; exec python3 -c 'import time; time.sleep(300)' "$0" ;;`,
      'esac',
      'exit 0',
    ].join('\n');
    const bootstrap = box.write(
      'bootstrap-python',
      `#!/bin/sh\n# -m venv DIR\nmkdir -p "$3/bin"\ncat > "$3/bin/python" <<'EOF'\n${fakeVenvPython}\nEOF\nchmod +x "$3/bin/python"\n`,
    );
    chmodSync(bootstrap, 0o755);
    const venvs = join(box.dir, 'venvs');
    const child = startLlem(['setup', 'pytorch'], {
      ...box.env,
      LLEM_VENV_DIR: venvs,
      LLEM_BOOTSTRAP_PYTHON: bootstrap,
    });
    const done = finished(child);
    let seen = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
    });
    for (let i = 0; i < 600 && !seen.includes('Collecting torch'); i++) await sleep(100);
    expect(seen).toMatch(/^ {2}Collecting torch==2\.9\.1/m);
    expect(processesMentioning(venvs).length).toBeGreaterThan(0);
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/stopping the setup/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    for (let i = 0; i < 100 && processesMentioning(venvs).length > 0; i++) await sleep(100);
    expect(processesMentioning(venvs)).toEqual([]);
    const [venv] = readdirSync(venvs);
    expect(existsSync(join(venvs, venv!, '.llem-complete'))).toBe(false);
  });
});
