import { describeBackendContract } from '@llem/core/testing';
import { ProcessGroupRunner } from '@llem/runner-node';
import { createPytorchBackend } from '../src/index.js';
import { harnessPython, tinyConfig } from './helpers.js';

describeBackendContract('pytorch (local, tiny-gpt2)', () => ({
  plugin: createPytorchBackend({ python: harnessPython() }),
  runner: new ProcessGroupRunner(),
  validConfig: tinyConfig({ n: 4 }),
  failingConfig: tinyConfig({ dataset: '/nonexistent/contract.jsonl' }),
  slowConfig: tinyConfig({ n: 400, max_output_tokens: 64 }),
}));
