import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { fastPaths } from '../../src/config/fast-paths.js';
import { ConfigResolver } from '../../src/config/resolver.js';
import {
  type BackendPlugin,
  ConfigError,
  computeConfigHash,
  resolveExperimentConfig,
  type StudyPlan,
} from '../../src/index.js';
import { DEFAULT_MAX_RUNS, expandStudy, studyBackendNames } from '../../src/orchestration/index.js';
import { catalogOf, scriptBackend } from '../../src/testing/script-backend.js';
import { configErrorOf as configError } from '../helpers/config-error.js';

/** A second backend with the checks that span fields: supported precisions and `validate`. */
const other: BackendPlugin = {
  ...scriptBackend(),
  name: 'other',
  supportedPrecisions: ['fp16', 'bf16'],
  validate: (config) =>
    (config.other as { batch_size: number }).batch_size > 2 && config.precision === 'bf16'
      ? ['batch_size > 2 needs fp16']
      : [],
};
const backends = catalogOf(scriptBackend(), other);
const range = (n: number, from = 1) => Array.from({ length: n }, (_, i) => i + from);

afterEach(() => {
  fastPaths.resolver = true;
});

describe('expandStudy: the cap on experiment-cycles (maxRuns)', () => {
  it(`defaults to ${DEFAULT_MAX_RUNS}; above it the error names the file, the count and the fix`, () => {
    const study = { model: 'm', backend: 'script', sweep: { n: range(200_000) } };
    const error = configError(() => expandStudy(study, { source: 'big.yaml', backends }));
    expect(error.message).toBe(
      'big.yaml: the study expands to 200000 experiment-cycles (200000 experiment(s) x 1 cycle(s)), more than the limit of 100000.',
    );
    expect(error.fix).toMatch(/^Shrink the sweep .* raise the limit \(the maxRuns option\)\.$/);
    const cli = configError(() =>
      expandStudy(study, { source: 'big.yaml', backends, raiseMaxRuns: '--max-runs N' }),
    );
    expect(cli.fix).toMatch(/raise the limit \(--max-runs N\)/);
  });

  it('counts before building: a 1000 x 1000 grid fails at once, cycles and entries count too', () => {
    const grid = { model: 'm', backend: 'script', sweep: { n: range(1000), 'decoder.top_k': range(1000) } };
    expect(configError(() => expandStudy(grid, { backends })).message).toMatch(
      /^study: the study expands to 1000000 experiment-cycles \(1000000 experiment\(s\) x 1 cycle\(s\)\)/,
    );
    // Not even the first pass of the CLI builds it.
    expect(configError(() => studyBackendNames(grid)).message).toMatch(/1000000 experiment-cycles/);
    const cycles = { model: 'm', sweep: { n: range(50_000) }, experiments: [{ n: 1 }], cycles: 2 };
    expect(configError(() => expandStudy(cycles, { source: 's.yaml' })).message).toMatch(
      /100002 experiment-cycles \(50001 experiment\(s\) x 2 cycle\(s\)\), more than the limit of 100000/,
    );
    const huge = {
      model: 'm',
      sweep: Object.fromEntries(range(30).map((i) => [`metadata.k${i}`, range(10)])),
    };
    expect(configError(() => expandStudy(huge)).message).toMatch(/1\.00e\+30 experiment-cycles/);
  });

  it('counts a backend-scoped key for its backend only, as the grid does', () => {
    const study = {
      model: 'm',
      sweep: { 'script.batch_size': [1, 2, 3], backend: ['script', 'other'], n: [1, 2] },
    };
    const plan = expandStudy(study, { backends, maxRuns: 8 });
    expect(plan.runs).toHaveLength(8); // script: 3 x 2, other: 2
    expect(configError(() => expandStudy(study, { backends, maxRuns: 7 })).message).toMatch(
      /8 experiment-cycles \(8 experiment\(s\) x 1 cycle\(s\)\)/,
    );
    expect(expandStudy({ model: 'm', sweep: {} }, { maxRuns: 1 }).runs).toHaveLength(1);
    expect(configError(() => expandStudy({ model: 'm', cycles: 2 }, { maxRuns: 1 })).message).toMatch(
      /2 experiment-cycles/,
    );
    expect(() => expandStudy({ model: 'm', cycles: 2 }, { maxRuns: 0 })).toThrow(ConfigError);
  });

  it('a 100,000-point sweep is valid, every point as resolveExperimentConfig sees it', () => {
    const values = range(100_000);
    const plan = expandStudy(
      { name: 'big', model: 'm', backend: 'script', sweep: { n: values } },
      { backends },
    );
    expect(plan.experiments).toHaveLength(100_000);
    expect(plan.runs).toHaveLength(100_000);
    for (const index of [0, 1, 4_999, 99_999]) {
      const expected = resolveExperimentConfig(
        { model: 'm', backend: 'script', n: values[index] },
        { backends },
      );
      expect(plan.experiments[index]!.config).toStrictEqual(expected.config);
      expect(plan.experiments[index]!.configHash).toBe(expected.configHash);
      expect(plan.runs[index]!.resultDirName).toBe(`m_script_${expected.configHash.slice(0, 8)}_c1`);
    }
    expect(new Set(plan.experiments.map((e) => e.configHash)).size).toBe(100_000);
  });

  it('a 200,000-point sweep is valid with a raised cap', () => {
    const plan = expandStudy(
      { model: 'm', backend: 'script', sweep: { n: range(200_000) } },
      { backends, maxRuns: 200_000 },
    );
    expect(plan.runs).toHaveLength(200_000);
  });
});

/** Values per sweep key: valid and invalid, values that change other fields (presets, shorthands). */
const SWEEP_VALUES: Record<string, unknown[]> = {
  n: [1, 2, 5, 0, -1, 1.5, 'x'],
  precision: ['fp32', 'fp16', 'bf16', 'fp64'],
  'decoder.temperature': [0, -0, 0.5, 2, 3],
  'decoder.preset': ['deterministic', 'creative', 'bogus'],
  decoder: [{ temperature: 0.1 }, { preset: 'factual', top_k: 3 }, { tempreature: 1 }],
  'script.batch_size': [1, 2, 4, 0],
  'other.batch_size': [1, 3, 'x'],
  backend: ['script', 'other', 'nope', 5],
  'warmup.min_prompts': [1, 5, 30],
  'warmup.max_prompts': [4, 20],
  dataset: ['aienergyscore', 'synthetic', 'p.jsonl', 5, { source: 'synthetic', input_len: 4 }],
  gpus: [[0], [0, 1], [], null, [-1]],
  'metadata.tag': ['a', 'b'],
  name: ['a', 'b'],
  batch_size: [1],
  'decoder.temprature': [1],
  'energy.samplers': ['auto', ['rapl'], ['nope']],
};

const studyArb = fc.record(
  {
    base: fc.record(
      {
        backend: fc.constantFrom('script', 'other'),
        n: fc.constantFrom(3, 7),
        decoder: fc.constantFrom({ preset: 'deterministic' }, { top_k: 5 }),
        precision: fc.constantFrom('fp16', 'bf16'),
      },
      { requiredKeys: [] },
    ),
    sweep: fc.uniqueArray(
      fc
        .constantFrom(...Object.keys(SWEEP_VALUES))
        .chain((key) =>
          fc.tuple(fc.constant(key), fc.subarray(SWEEP_VALUES[key]!, { minLength: 1 }), fc.boolean()),
        ),
      { minLength: 1, maxLength: 4, selector: ([key]) => key },
    ),
    experiments: fc.array(
      fc.record(
        { n: fc.constantFrom(2, 5, -3), precision: fc.constantFrom('fp16', 'fp32') },
        { requiredKeys: [] },
      ),
      { maxLength: 2 },
    ),
    cycles: fc.constantFrom(1, 2),
    order: fc.constantFrom('sequential', 'interleaved', 'shuffled'),
  },
  { requiredKeys: ['base', 'sweep', 'cycles', 'order'] },
);

type Outcome = { plan: string } | { error: { name: string; message: string; fix: string | undefined } };

function outcome(run: () => StudyPlan): Outcome {
  try {
    // JSON text: key order, -0 and every value compared, not just deep equality.
    return { plan: JSON.stringify(run(), (_, v) => (Object.is(v, -0) ? '-0' : v)) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { error: { name: error.name, message: error.message, fix: error.fix } };
  }
}

describe('expandStudy: the fast path (ConfigResolver, ConfigHasher) gives what the full path gives', () => {
  it('on random sweeps, valid and invalid: the same plan, or the same error', () => {
    fc.assert(
      fc.property(studyArb, (study) => {
        const raw: Record<string, unknown> = {
          model: 'm',
          ...study.base,
          // A scalar sweep value is a one-value list.
          sweep: Object.fromEntries(
            study.sweep.map(([key, values, scalar]) => [key, scalar ? values[0] : values]),
          ),
          cycles: study.cycles,
          order: study.order,
        };
        if (study.experiments?.length) raw.experiments = study.experiments;
        for (const catalog of [backends, undefined]) {
          const options = { source: 'r.yaml', backends: catalog };
          fastPaths.resolver = true;
          const fast = outcome(() => expandStudy(raw, options));
          fastPaths.resolver = false;
          const full = outcome(() => expandStudy(raw, options));
          expect(fast).toStrictEqual(full);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('is on for the current schema (it mirrors a strict object of independent fields)', () => {
    const resolver = new ConfigResolver(backends);
    const raw = { model: 'm', backend: 'script', n: 3 };
    expect(resolver.resolve(raw)).toStrictEqual(resolveExperimentConfig(raw, { backends }).config);
    expect(resolver.resolve({ ...raw, n: 4 })?.n).toBe(4);
  });

  it('configs built by the fast path hash like computeConfigHash, one at a time', () => {
    const plan = expandStudy(
      {
        model: 'm',
        backend: 'script',
        sweep: { 'decoder.temperature': [0, 0.5], n: range(50), 'script.batch_size': [1, 2] },
      },
      { backends },
    );
    for (const experiment of plan.experiments)
      expect(experiment.configHash).toBe(computeConfigHash(experiment.config));
  });

  it('keeps today’s messages for invalid points (attributed to the sweep key, value named)', () => {
    const error = configError(() =>
      expandStudy({ model: 'm', backend: 'script', sweep: { n: [1, -2, 3, -4] } }, { backends }),
    );
    expect(error.message.split('\n')).toEqual([
      "sweep['n'] (value -2): Too small: expected number to be >=1",
      "sweep['n'] (value -4): Too small: expected number to be >=1",
    ]);
  });
});
