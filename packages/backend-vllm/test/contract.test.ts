import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeBackendContract } from '@llem/core/testing';
import { ProcessGroupRunner } from '@llem/runner-node';
import { processesMentioning } from '@llem/test-kit';
import { describe, expect, it } from 'vitest';
import plugin from '../src/index.js';
import { fakeVllm } from './helpers.js';

const marker = `llem-e2e-vllm-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const base = {
  model: 'org/model',
  backend: 'vllm',
  n: 6,
  precision: 'fp16',
  dataset: { source: 'synthetic', input_len: 8 },
  energy: { enabled: false },
  baseline: { enabled: false },
};
const fast = fakeVllm({ firstTokenMs: 5, perTokenMs: 2, tokens: 8 }, marker);
const failing = fakeVllm({ errorEvery: 1 }, marker);
const slow = fakeVllm({ firstTokenMs: 50, perTokenMs: 50, tokens: 100 }, marker);

// The vllm backend run through the serving backend, with a fake `vllm` that serves the scripted SSE protocol.
describeBackendContract('vllm (fake vllm executable)', async () => ({
  plugin: await plugin.create(),
  runner: new ProcessGroupRunner(),
  validConfig: {
    ...base,
    vllm: { executable: fast.path, max_num_seqs: 4, concurrency: 2, max_tokens: 8 },
  },
  failingConfig: { ...base, vllm: { executable: failing.path, concurrency: 2 } },
  slowConfig: { ...base, n: 40, vllm: { executable: slow.path } },
}));

describe('after the contract suite', () => {
  it('started vllm serve with the section as flags', () => {
    const argv = readFileSync(join(fast.dir, 'argv'), 'utf8').trim().split('\n');
    expect(argv.slice(0, 2)).toEqual(['serve', 'org/model']);
    expect(argv).toEqual(expect.arrayContaining(['--dtype', 'float16', '--max-num-seqs', '4']));
  });

  it('left no server process behind', async () => {
    expect(await processesMentioning(marker)).toEqual([]);
  });
});
