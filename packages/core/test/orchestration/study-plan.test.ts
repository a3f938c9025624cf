import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_EXPERIMENT_ID_LENGTH, resolveExperimentConfig, sanitizeExperimentId } from '../../src/index.js';
import { expandStudy, studyDesignHash } from '../../src/orchestration/index.js';
import { catalogOf, scriptBackend } from '../../src/testing/script-backend.js';
import { configErrorOf as configError } from '../helpers/config-error.js';

const backends = catalogOf(scriptBackend());

describe('expandStudy: grid', () => {
  it('addresses nested fields at any depth with dotted keys, last key fastest', () => {
    const plan = expandStudy(
      {
        name: 'grid',
        model: 'm',
        backend: 'script',
        sweep: { 'decoder.temperature': [0, 0.5], 'script.batch_size': [1, 2, 4] },
      },
      { backends },
    );
    expect(plan.kind).toBe('study');
    expect(
      plan.experiments.map((e) => [
        e.config.decoder.temperature,
        (e.config.script as { batch_size: number }).batch_size,
      ]),
    ).toEqual([
      [0, 1],
      [0, 2],
      [0, 4],
      [0.5, 1],
      [0.5, 2],
      [0.5, 4],
    ]);
    expect(plan.experiments[4]!.origin).toBe('sweep[4]');
    expect(plan.experiments[4]!.label).toBe('m script bf16 decoder.temperature=0.5 script.batch_size=2');
  });

  it('wraps scalars, merges inline fields over a base: file and appends explicit experiments deep-merged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llem-plan-'));
    await writeFile(
      join(dir, 'base.yaml'),
      'model: from-base\nbackend: script\nn: 7\ndecoder:\n  top_k: 5\n',
    );
    const plan = expandStudy(
      {
        base: 'base.yaml',
        model: 'inline',
        sweep: { n: 3 },
        experiments: [{ decoder: { temperature: 0.2 } }],
      },
      { source: join(dir, 'study.yaml'), backends },
    );
    expect(plan.experiments).toHaveLength(2);
    expect(plan.experiments[0]!.config).toMatchObject({ model: 'inline', n: 3, decoder: { top_k: 5 } });
    // Deep merge: the entry's decoder keeps the base's top_k.
    expect(plan.experiments[1]!.config).toMatchObject({
      model: 'inline',
      n: 7,
      decoder: { top_k: 5, temperature: 0.2 },
    });
    expect(plan.experiments[1]!.origin).toBe('experiments[0]');
    expect(plan.name).toBe('study');
  });

  it('runs only the base when there is neither sweep nor experiments', () => {
    const plan = expandStudy({ model: 'm', backend: 'script', cycles: 3 }, { backends });
    expect(plan.experiments).toHaveLength(1);
    expect(plan.runs).toHaveLength(3);
  });

  it('applies backend-scoped keys only to that backend, and refuses a key that applies to none', () => {
    const two = catalogOf(scriptBackend(), { ...scriptBackend(), name: 'other' });
    const plan = expandStudy(
      { model: 'm', sweep: { 'script.batch_size': [1, 2], backend: ['script', 'other'] } },
      { backends: two },
    );
    expect(
      plan.experiments.map(
        (e) => `${e.config.backend}:${(e.config[e.config.backend] as { batch_size: number }).batch_size}`,
      ),
    ).toEqual(['script:1', 'script:2', 'other:1']);
    const error = configError(() =>
      expandStudy({ model: 'm', backend: 'script', sweep: { 'other.batch_size': [1] } }, { backends: two }),
    );
    expect(error.message).toContain("sweep['other.batch_size']: no experiment has backend 'other'");
  });

  it('reports an unknown sweep key at depth with did-you-mean, once, pointing at the sweep', () => {
    const error = configError(() =>
      expandStudy(
        {
          model: 'm',
          backend: 'script',
          sweep: { 'decoder.temprature': [0, 0.5], 'script.batch_sise': [1] },
        },
        { source: 's.yaml', backends },
      ),
    );
    const lines = error.message.split('\n');
    expect(lines).toContain(
      "s.yaml: sweep['decoder.temprature']: unknown field 'temprature' (did you mean 'temperature'?)",
    );
    expect(lines).toContain(
      "s.yaml: sweep['script.batch_sise']: unknown field 'batch_sise' (did you mean 'batch_size'?)",
    );
    expect(lines).toHaveLength(2);
  });

  it('names a bad sweep value with the key and the value', () => {
    const error = configError(() =>
      expandStudy({ model: 'm', backend: 'script', sweep: { n: [1, -2] } }, { backends }),
    );
    expect(error.message).toMatch(/^sweep\['n'\] \(value -2\): /);
  });

  it('says where a backend field belongs when it is swept at the top level', () => {
    const error = configError(() =>
      expandStudy({ model: 'm', backend: 'script', sweep: { batch_size: [1, 2] } }, { backends }),
    );
    expect(error.message).toContain(
      "sweep['batch_size'] (backend fields are addressed as 'script.batch_size'): unknown field 'batch_size'",
    );
  });

  it('points errors of an explicit entry at experiments[i]', () => {
    const error = configError(() =>
      expandStudy(
        { model: 'm', backend: 'script', experiments: [{ n: 2 }, { precison: 'fp16' }] },
        { backends },
      ),
    );
    expect(error.message).toContain(
      "experiments[1].precison: unknown field 'precison' (did you mean 'precision'?)",
    );
  });

  it('measures duplicates once and reports them', () => {
    const plan = expandStudy(
      { model: 'm', backend: 'script', sweep: { n: [100, 5] }, experiments: [{ n: 5 }, { n: 6 }] },
      { backends },
    );
    expect(plan.experiments.map((e) => e.config.n)).toEqual([100, 5, 6]);
    expect(plan.duplicates).toEqual([
      { origin: 'experiments[0]', duplicateOf: 'sweep[1]', configHash: plan.experiments[1]!.configHash },
    ]);
  });

  it('rejects unknown study settings with a hint', () => {
    const error = configError(() => expandStudy({ model: 'm', cycles: 2, oder: 'shuffled' }, { backends }));
    expect(error.message).toContain('oder');
  });
});

describe('expandStudy: runs and ids', () => {
  const study = { name: 'ids', model: 'm', backend: 'script', sweep: { n: [1, 2, 3] }, cycles: 2 };

  it('orders sequential, interleaved and shuffled runs; the shuffle is fixed by the seed', () => {
    const order = (extra: Record<string, unknown>) =>
      expandStudy({ ...study, ...extra }, { backends }).runs.map((r) => `${r.experimentIndex}c${r.cycle}`);
    expect(order({ order: 'sequential' })).toEqual(['0c1', '0c2', '1c1', '1c2', '2c1', '2c2']);
    expect(order({ order: 'interleaved' })).toEqual(['0c1', '1c1', '2c1', '0c2', '1c2', '2c2']);
    // Fixed vector: xoshiro128** seeded with 42 shuffles [0,1,2] to these two permutations.
    const shuffled = order({ order: 'shuffled', shuffle_seed: 42 });
    expect(shuffled).toEqual(order({ order: 'shuffled', shuffle_seed: 42 }));
    expect(shuffled).toEqual(['2c1', '1c1', '0c1', '1c2', '0c2', '2c2']);
  });

  it('derives the shuffle seed from the design hash when none is given', () => {
    const plan = expandStudy({ ...study, order: 'shuffled' }, { backends });
    expect(plan.shuffleSeed).toBe(Number.parseInt(plan.designHash!.slice(0, 8), 16));
  });

  it('gives stable, safe ids: study id = name + design hash, run id = study id + config hash + cycle', () => {
    const a = expandStudy(study, { backends });
    const b = expandStudy({ ...study, sweep: { n: [3, 1, 2] } }, { backends });
    expect(a.studyId).toBe(`ids-${a.designHash!.slice(0, 8)}`);
    expect(b.studyId).toBe(a.studyId);
    expect(a.designHash).toBe(studyDesignHash(a.experiments.map((e) => e.configHash)));
    const run = a.runs[1]!;
    expect(run.experimentId).toBe(`${a.studyId}__${run.configHash}__c2`);
    expect(run.resultDirName).toBe(`m_script_${run.configHash.slice(0, 8)}_c2`);
    const long = expandStudy({ ...study, name: 'x'.repeat(64), cycles: 1000 }, { backends });
    for (const r of long.runs.slice(-1)) {
      expect(r.experimentId.length).toBeLessThanOrEqual(MAX_EXPERIMENT_ID_LENGTH);
      expect(sanitizeExperimentId(r.experimentId)).toBe(r.experimentId);
    }
  });

  it('uses the file name when the study has no name', () => {
    const plan = expandStudy(
      { model: 'm', backend: 'script', cycles: 1, sweep: { n: 1 } },
      { source: '/x/My Study.yaml', backends },
    );
    expect(plan.studyId).toMatch(/^My-Study-[0-9a-f]{8}$/);
  });

  it('plans an experiment document as one run without a study', () => {
    const plan = expandStudy({ model: 'org/Model-7B', backend: 'script', n: 3 }, { backends });
    const { configHash } = resolveExperimentConfig(
      { model: 'org/Model-7B', backend: 'script', n: 3 },
      { backends },
    );
    expect(plan).toMatchObject({ kind: 'experiment', studyId: null, cycles: 1 });
    expect(plan.runs).toEqual([
      {
        position: 0,
        experimentId: `org-Model-7B_script_${configHash}`,
        experimentIndex: 0,
        configHash,
        cycle: null,
        resultDirName: `org-Model-7B_script_${configHash.slice(0, 8)}`,
      },
    ]);
  });
});
