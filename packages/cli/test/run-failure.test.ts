import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { jsonLines, llem, sandbox } from './llem.js';

describe('llem run: a failing workload', () => {
  it('exits 1, lists the failure with its reason, and records it on the state', async () => {
    const box = sandbox(inject('python'));
    // A model directory the preflight accepts (it has a config.json) that cannot load.
    mkdirSync(join(box.dir, 'broken-model'));
    box.write('broken-model/config.json', '{}\n');
    const path = box.write(
      'broken.yaml',
      `model: ${box.dir}/broken-model\nlaunch: local\nprecision: fp32\nn: 2\ndataset: synthetic\nbaseline: {enabled: false}\nwarmup: {enabled: false}\n`,
    );
    const r = await llem(['run', path], box.env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/0 measured, 0 reused, 1 failed of 1/);
    expect(r.stdout).toMatch(/failed: .*broken-model.*cannot load model/);
    expect(r.stderr).not.toMatch(/^\s+at /m);

    const status = jsonLines((await llem(['status', '--json'], box.env)).stdout)[0] as {
      experiments: { failed: boolean; failureKind: string; errorMessage: string }[];
    };
    expect(status.experiments).toEqual([
      expect.objectContaining({
        failed: true,
        failureKind: 'error',
        errorMessage: expect.stringMatching(/cannot load model/),
      }),
    ]);
  });
});
