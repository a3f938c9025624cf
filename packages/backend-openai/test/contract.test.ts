import { describeBackendContract } from '@llem/core/testing';
import { ProcessGroupRunner } from '@llem/runner-node';
import { describe, expect, it } from 'vitest';
import plugin, { OpenAIConfigSchema } from '../src/index.js';
import { processesMentioning, scriptedServer, uniqueMarker } from './helpers.js';

const base = {
  model: 'scripted',
  backend: 'openai',
  n: 6,
  dataset: { source: 'synthetic', input_len: 8 },
  energy: { enabled: false },
  baseline: { enabled: false },
};
const marker = uniqueMarker('contract');

describeBackendContract('openai', async () => ({
  plugin: await plugin.create(),
  runner: new ProcessGroupRunner(),
  validConfig: {
    ...base,
    openai: {
      server: { argv: scriptedServer({ firstTokenMs: 5, perTokenMs: 2, tokens: 8 }, marker) },
      concurrency: 2,
      max_tokens: 8,
    },
  },
  // Every request answers HTTP 500: the error rate (1) is above max_error_rate (0).
  failingConfig: {
    ...base,
    openai: { server: { argv: scriptedServer({ errorEvery: 1 }, marker) }, concurrency: 2 },
  },
  slowConfig: {
    ...base,
    n: 40,
    openai: { server: { argv: scriptedServer({ firstTokenMs: 50, perTokenMs: 50, tokens: 100 }, marker) } },
  },
}));

describe('after the contract suite', () => {
  it('left no server process behind (finished, failed and aborted runs alike)', () => {
    expect(processesMentioning(marker)).toEqual([]);
  });
});

describe('the openai config section', () => {
  const parse = (section: unknown) => OpenAIConfigSchema.safeParse(section);
  const argv = ['server', '--port', '{port}'];

  it('takes a server or an endpoint, not both nor neither', () => {
    expect(parse({ server: { argv } }).success).toBe(true);
    expect(parse({ endpoint: 'http://127.0.0.1:8000' }).success).toBe(true);
    expect(parse({}).success).toBe(false);
    expect(parse({ server: { argv }, endpoint: 'http://127.0.0.1:8000' }).success).toBe(false);
  });

  it('needs a port: {port} in argv or server.port', () => {
    const noPort = parse({ server: { argv: ['server'] } });
    expect(noPort.success).toBe(false);
    expect(noPort.error?.issues[0]?.message).toMatch(/\{port\}/);
    expect(parse({ server: { argv: ['server'], port: 8000 } }).success).toBe(true);
  });

  it('takes concurrency or request_rate, and burstiness and warmup_s only with a rate', () => {
    expect(parse({ server: { argv }, concurrency: 4, request_rate: 2 }).success).toBe(false);
    expect(parse({ server: { argv }, burstiness: 0.5 }).success).toBe(false);
    expect(parse({ server: { argv }, warmup_s: 2 }).success).toBe(false);
    expect(parse({ server: { argv }, request_rate: 2, burstiness: 0.5, warmup_s: 2 }).success).toBe(true);
  });

  it('takes the name of the API key variable, never the key', () => {
    expect(parse({ endpoint: 'http://h:1', api_key_env: 'OPENAI_API_KEY' }).success).toBe(true);
    expect(parse({ endpoint: 'http://h:1', api_key_env: 'sk-abc123/xyz' }).success).toBe(false);
  });
});
