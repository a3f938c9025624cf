import { existsSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { filesUnder, jsonLines, llem, sandbox } from './llem.js';

const study = `name: dry
model: builtin:tiny-gpt2
launch: local
precision: fp32
n: 4
sweep:
  pytorch.batch_size: [1, 2]
cycles: 3
order: interleaved
`;

describe('llem run --dry-run', () => {
  it('prints the preflight, experiments, hashes, launch commands and a time estimate; runs and writes nothing', async () => {
    const python = inject('python');
    const box = sandbox(python);
    const path = box.write('dry.yaml', study);
    const r = await llem(['run', path, '--dry-run'], box.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/2 experiment\(s\) x 3 cycle\(s\), order interleaved = 6 run\(s\)/);
    expect(r.stdout.match(/^ {4}hash [0-9a-f]{16}/gm)).toHaveLength(2);
    expect(r.stdout).toContain(`$ ${python} -m llem_harness`);
    expect(r.stdout).toMatch(/^Preflight:\n {2}ok {4}python: /m);
    expect(r.stdout).toMatch(/^ {2}ok {4}model: builtin:tiny-gpt2: builtin$/m);
    expect(r.stdout).toMatch(/Estimated time: ~/);
    expect(existsSync(box.stateDir)).toBe(false);
    expect(existsSync(box.resultsDir)).toBe(false);
    expect(filesUnder(box.env.HOME!)).toEqual([]);
  });

  it('--json gives the plan as one record; overrides apply to a study', async () => {
    const box = sandbox(inject('python'));
    const path = box.write('dry.yaml', study);
    const r = await llem(['run', path, '--dry-run', '--json', '--batch-size', '4', '--cycles', '1'], box.env);
    expect(r.code).toBe(0);
    const [preflight, plan] = jsonLines(r.stdout) as [
      { type: string; ok: boolean },
      { type: string; runs: unknown[]; experiments: { label: string }[] },
    ];
    expect(preflight).toMatchObject({ type: 'preflight', ok: true });
    expect(plan.type).toBe('plan');
    // --batch-size collapses the batch-size sweep to one experiment; --cycles 1: one run.
    expect(plan.experiments).toHaveLength(1);
    expect(plan.runs).toHaveLength(1);
    expect(existsSync(box.stateDir)).toBe(false);
  });
});
