import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
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
  it('prints experiments, hashes, launch commands and a time estimate; runs and writes nothing', async () => {
    const box = sandbox('/nonexistent/python-never-run');
    const path = box.write('dry.yaml', study);
    const r = await llem(['run', path, '--dry-run'], box.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/2 experiment\(s\) x 3 cycle\(s\), order interleaved = 6 run\(s\)/);
    expect(r.stdout.match(/^ {4}hash [0-9a-f]{16}/gm)).toHaveLength(2);
    expect(r.stdout).toMatch(/\$ \/nonexistent\/python-never-run -m llem_harness/);
    expect(r.stdout).toMatch(/Estimated time: ~/);
    expect(existsSync(box.stateDir)).toBe(false);
    expect(existsSync(box.resultsDir)).toBe(false);
    expect(filesUnder(box.env.HOME!)).toEqual([]);
  });

  it('--json gives the plan as one record; overrides apply to a study', async () => {
    const box = sandbox('/nonexistent/python');
    const path = box.write('dry.yaml', study);
    const r = await llem(['run', path, '--dry-run', '--json', '--batch-size', '4', '--cycles', '1'], box.env);
    expect(r.code).toBe(0);
    const [plan] = jsonLines(r.stdout) as [
      { type: string; runs: unknown[]; experiments: { label: string }[] },
    ];
    expect(plan.type).toBe('plan');
    // --batch-size collapses the batch-size sweep to one experiment; --cycles 1: one run.
    expect(plan.experiments).toHaveLength(1);
    expect(plan.runs).toHaveLength(1);
    expect(existsSync(box.stateDir)).toBe(false);
  });
});
