import { describe, expect, inject, it } from 'vitest';
import { jsonLines, llem, sandbox } from './llem.js';

describe('llem doctor', () => {
  it('one check per line, ok/warn/fail, every problem with its fix; --json', async () => {
    const box = sandbox(inject('python'));
    const r = await llem(['doctor', '--json'], {
      ...box.env,
      LLEM_NVML_LIBRARY: `${box.dir}/no-libnvidia-ml.so.1`,
    });
    const [report] = jsonLines(r.stdout) as [
      { type: string; ok: boolean; checks: { name: string; status: string; detail: string; fix?: string }[] },
    ];
    expect(report.type).toBe('doctor');
    expect(r.code).toBe(report.ok ? 0 : 1);
    const names = report.checks.map((c) => c.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'node',
        'state dir',
        'results dir',
        'GPU energy (NVML counters)',
        'CPU energy (RAPL)',
      ]),
    );
    for (const check of report.checks) {
      expect(['ok', 'warn', 'fail']).toContain(check.status);
      if (check.status !== 'ok') expect(check.fix, check.name).toBeTruthy();
    }
    // No GPU library here: a warning that says how to get one, not a crash.
    expect(report.checks.find((c) => c.name === 'GPU energy (NVML counters)')).toMatchObject({
      status: 'warn',
    });
  });
});

describe('llem setup', () => {
  it('pytorch: with LLEM_PYTHON set, that python is used as is', async () => {
    const python = inject('python');
    const box = sandbox(python);
    const r = await llem(['setup', 'pytorch', '--json'], box.env);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout).at(-1)).toMatchObject({ type: 'setup', backend: 'pytorch', python });
  });

  it('an unknown backend is a config error with a did-you-mean', async () => {
    const r = await llem(['setup', 'pytoch'], sandbox().env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown backend 'pytoch' \(did you mean 'pytorch'\?\)/);
  });
});
