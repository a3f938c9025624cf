import { describe, expect, it } from 'vitest';
import { computeConfigHash, resolveExperimentConfig } from '../src/index.js';

describe('resolveExperimentConfig', () => {
  it('applies defaults and hashes', () => {
    const a = resolveExperimentConfig({ model: 'gpt2' });
    const b = resolveExperimentConfig({ model: 'gpt2', n: 100, decoder: { temperature: 1 } });
    expect(a.configHash).toBe(b.configHash);
    expect(a.configHash).toBe(computeConfigHash(a.config));
    expect(a.config.decoder.top_k).toBe(50);
  });
  it('names unknown keys with a hint', () => {
    expect(() => resolveExperimentConfig({ model: 'gpt2', precison: 'fp16' })).toThrow(/precison.*did you mean 'precision'/);
    expect(() => resolveExperimentConfig({ model: 'gpt2', decoder: { temprature: 1 } })).toThrow(/decoder\.temprature.*'temperature'/);
  });
});
