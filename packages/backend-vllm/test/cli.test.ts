/**
 * The vllm backend through the built `llem`, with a fake `vllm` on PATH that serves the scripted
 * SSE protocol: a sweep over vllm.max_num_seqs runs one server per experiment with its flags, and
 * a misspelt field is one clear error (exit 2).
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildLlem, createSandbox, jsonLines, llem, processesMentioning, type Sandbox } from '@llem/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeVllm } from './helpers.js';

const marker = `llem-e2e-vllm-cli-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
let box: Sandbox;
let vllm: { path: string; dir: string };
beforeAll(() => {
  // LLEM_TEST_BIN: a copy of the built CLI (see @llem/test-kit), used as it is.
  if (!process.env.LLEM_TEST_BIN) buildLlem();
  vllm = fakeVllm({ firstTokenMs: 5, perTokenMs: 2, tokens: 8 }, marker);
  box = createSandbox('llem-vllm-cli-');
}, 900_000);
afterAll(() => box?.remove());

const study = `name: vllm-seqs
model: org/model
backend: vllm
launch: local
n: 4
precision: fp16
dataset: { source: synthetic, input_len: 8 }
baseline: { enabled: false }
energy: { enabled: false }
vllm: { concurrency: 2, max_tokens: 8 }
sweep:
  vllm.max_num_seqs: [4, 8]
`;

describe('llem run with backend: vllm (a fake vllm on PATH)', () => {
  it('measures each sweep point with its own vllm serve flags', async () => {
    const path = box.write('study.yaml', study);
    const env = { ...box.env, PATH: `${dirname(vllm.path)}:${box.env.PATH}` };
    const run = await llem(['run', path, '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const summary = jsonLines(run.stdout).find((line) => line.type === 'summary') as {
      counts: Record<string, number>;
    };
    expect(summary.counts).toMatchObject({ total: 2, done: 2, failed: 0 });
    // The last server started was the second sweep point's.
    const argv = readFileSync(`${vllm.dir}/argv`, 'utf8').trim().split('\n');
    expect(argv.slice(0, 2)).toEqual(['serve', 'org/model']);
    expect(argv).toEqual(expect.arrayContaining(['--dtype', 'float16', '--max-num-seqs', '8']));
    expect(processesMentioning(marker)).toEqual([]);
  });

  it('refuses a misspelt vllm field: exit 2, one error with did-you-mean, no stack trace', async () => {
    const path = box.write('bad.yaml', 'model: m\nbackend: vllm\nvllm:\n  max_num_seq: 8\n');
    const run = await llem(['run', path], box.env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^error: .*bad\.yaml: vllm\.max_num_seq: unknown field 'max_num_seq' \(did you mean 'max_num_seqs'\?\)/m,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
