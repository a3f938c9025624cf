import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExperimentResultSchema } from '@llem/core';
import { createSandbox, jsonLines, llem } from '@llem/test-kit';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * A study on a simulated GPU through the built `llem` (LLEM_TEST_BIN may point at a copy): the echo
 * backend installed as llem-backend-echo, `energy.samplers: [simulated]`, real workload processes.
 */

const packageDir = fileURLToPath(new URL('../', import.meta.url));
const box = createSandbox('llem-echo-simulated-');
afterAll(() => box.remove());
const project = join(box.dir, 'project');
mkdirSync(join(project, 'node_modules'), { recursive: true });
symlinkSync(packageDir, join(project, 'node_modules', 'llem-backend-echo'));

const study = `name: echo-simulated
model: echo-model
backend: echo
launch: local
n: 8
echo: { seconds_per_request: 0.2, input_tokens_per_request: 5, output_tokens_per_request: 10 }
baseline: { duration_seconds: 1, cache_ttl_seconds: 0 }
energy:
  samplers: [simulated]
  simulated: { profile: h100, seed: 3 }
  sample_interval_ms: 50
  min_window_seconds: 0
cycles: 1
`;

describe('llem run with energy.samplers: [simulated]', () => {
  it('measures energy that rises in the window, labelled simulated, with its uncertainty', async () => {
    writeFileSync(join(project, 'study.yaml'), study);
    const run = await llem(['run', 'study.yaml', '--store', 'fs', '--json'], box.env, project);
    expect(run.code, run.stderr).toBe(0);
    const summary = jsonLines(run.stdout).find((l) => l.type === 'summary') as {
      runs: { resultPath: string | null }[];
    };
    const path = summary.runs[0]?.resultPath as string;
    const result = ExperimentResultSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
    const energy = result.energy!;
    const gpu = energy.devices[0]!;
    expect(energy.devices.map((d) => d.source)).toEqual(['simulated']);
    expect(gpu.name).toContain('simulated');
    // Idle in the baseline (H100 profile: 70 W), far above it in the window.
    expect(gpu.baseline_power_w).toBeGreaterThan(60);
    expect(gpu.baseline_power_w).toBeLessThan(80);
    expect(gpu.mean_power_w!).toBeGreaterThan(2 * gpu.baseline_power_w!);
    expect(energy.total.adjusted_j!).toBeGreaterThan(0);
    const u = energy.total.uncertainty!;
    expect(u.total_j).toBeGreaterThan(0);
    expect(u.systematic_j).toBeCloseTo(0.05 * energy.total.adjusted_j!, 3);
    expect(gpu.uncertainty?.update_period_s).toBeGreaterThan(0.05);
    expect(result.efficiency.energy_per_output_token_uncertainty_j).toBeCloseTo(u.total_j / 80, 9);
    expect(energy.quality.warnings.map((w) => w.code)).toContain('simulated_energy');

    const show = await llem(['results', 'show', '--per-cycle'], box.env, project);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('(sim.)');
    expect(show.stdout).toMatch(/±\d/);
  });

  it('refuses simulated energy mixed with a measuring sampler: one error line, exit 2', async () => {
    writeFileSync(
      join(project, 'mixed.yaml'),
      study
        .replace('samplers: [simulated]', 'samplers: [simulated, rapl]')
        .replace('echo-simulated', 'mixed'),
    );
    const run = await llem(['run', 'mixed.yaml', '--store', 'fs'], box.env, project);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/error: .*mixed\.yaml.*samplers/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
