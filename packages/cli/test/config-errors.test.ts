import { describe, expect, it } from 'vitest';
import { jsonLines, llem, sandbox } from './llem.js';

const STACK_LINE = /^\s+at /m;
const valid = 'model: builtin:tiny-gpt2\nn: 4\nprecision: fp32\n';

describe('config errors: exit 2, file, field path, fix, no stack trace', () => {
  const box = sandbox();

  it('a YAML syntax error names file:line:column', async () => {
    const path = box.write('bad.yaml', 'model: builtin:tiny-gpt2\nn: [1,\nprecision: fp32\n');
    const r = await llem(['run', path], box.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${path}:\\d+:\\d+: YAML error`));
    expect(r.stderr).toMatch(/^fix: /m);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('an unknown key gets a did-you-mean, at the top and nested', async () => {
    const top = await llem(['run', box.write('typo.yaml', 'modle: builtin:tiny-gpt2\n')], box.env);
    expect(top.code).toBe(2);
    expect(top.stderr).toMatch(/typo\.yaml: modle: unknown field 'modle' \(did you mean 'model'\?\)/);
    expect(top.stderr).not.toMatch(STACK_LINE);

    const nested = await llem(
      ['config', 'validate', box.write('nested.yaml', `${valid}decoder:\n  temprature: 0.5\n`)],
      box.env,
    );
    expect(nested.code).toBe(2);
    expect(nested.stderr).toMatch(
      /decoder\.temprature: unknown field 'temprature' \(did you mean 'temperature'\?\)/,
    );

    const section = await llem(
      ['config', 'validate', box.write('section.yaml', `${valid}pytorch:\n  batchsize: 2\n`)],
      box.env,
    );
    expect(section.code).toBe(2);
    expect(section.stderr).toMatch(
      /pytorch\.batchsize: unknown field 'batchsize' \(did you mean 'batch_size'\?\)/,
    );
  });

  it('a wrong type names the field and what was expected', async () => {
    const r = await llem(
      ['config', 'validate', box.write('type.yaml', 'model: builtin:tiny-gpt2\nn: eight\n')],
      box.env,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/type\.yaml: n: expected number, got the string "eight"/);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('an unknown backend gets a did-you-mean', async () => {
    const r = await llem(
      ['config', 'validate', box.write('backend.yaml', `${valid}backend: pytorhc\n`)],
      box.env,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown backend 'pytorhc' \(did you mean 'pytorch'\?\)/);
  });

  it('a study error points at the sweep key', async () => {
    const r = await llem(
      ['config', 'validate', box.write('study.yaml', `${valid}sweep:\n  precision: [fp32, fp64]\n`)],
      box.env,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/precision/);
    expect(r.stderr).toMatch(/fp64|must be one of/);
  });

  it('a missing file and a wrong suffix are config errors', async () => {
    const missing = await llem(['run', `${box.dir}/nope.yaml`], box.env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.yaml: config file not found/);
    const toml = await llem(['config', 'validate', box.write('c.toml', 'a = 1\n')], box.env);
    expect(toml.code).toBe(2);
    expect(toml.stderr).toMatch(/unsupported config file type '\.toml'/);
  });

  it('usage mistakes exit 2', async () => {
    expect((await llem(['run'], box.env)).code).toBe(2);
    expect((await llem(['run', 'x.yaml', '-n', 'many'], box.env)).code).toBe(2);
    expect((await llem(['run', 'x.yaml', '--precision', 'int4'], box.env)).code).toBe(2);
    expect((await llem(['frobnicate'], box.env)).code).toBe(2);
  });

  it('a bad user config or LLEM_* value is a config error naming it', async () => {
    const userConfig = box.write('user.yaml', 'defaults:\n  stroe: fs\n');
    const r = await llem(['config', 'show'], { ...box.env, LLEM_CONFIG: userConfig });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /user\.yaml \(user config\): defaults\.stroe: unknown field 'stroe' \(did you mean 'store'\?\)/,
    );
    const env = await llem(['status'], { ...box.env, LLEM_STORE: 'redis' });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/LLEM_STORE: 'redis' is not one of sqlite, fs/);
  });

  it('--verbose adds the stack trace', async () => {
    const r = await llem(['run', box.write('v.yaml', 'modle: x\n'), '--verbose'], box.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(STACK_LINE);
  });
});

describe('llem config', () => {
  const box = sandbox();

  it('validate: ok exits 0; --json says what it found', async () => {
    const path = box.write('ok.yaml', `${valid}sweep:\n  pytorch.batch_size: [1, 2]\ncycles: 2\n`);
    const text = await llem(['config', 'validate', path], box.env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /ok: .*ok\.yaml is valid \(study 'ok': 2 experiment\(s\) x 2 cycle\(s\) = 4 run\(s\)\)/,
    );
    const json = await llem(['config', 'validate', path, '--json'], box.env);
    const [record] = jsonLines(json.stdout);
    expect(record).toMatchObject({ type: 'valid', kind: 'study', runs: 4 });
    expect((record!.experiments as unknown[]).length).toBe(2);
  });

  it('show: resolved config with its hash, and where each setting came from', async () => {
    const userConfig = box.write(
      'config.yaml',
      'defaults:\n  store: fs\nenergy:\n  sample_interval_ms: 50\n',
    );
    const env = { ...box.env, LLEM_CONFIG: userConfig };
    const r = await llem(['config', 'show', box.write('e.yaml', valid), '--json'], env);
    expect(r.code).toBe(0);
    const [record] = jsonLines(r.stdout) as [
      {
        settings: Record<string, { value: unknown; source: string }>;
        plan: { experiments: { configHash: string; config: { energy: { sample_interval_ms: number } } }[] };
      },
    ];
    expect(record.settings.store).toEqual({ value: 'fs', source: 'user-config' });
    expect(record.settings.resultsDir).toEqual({ value: box.env.LLEM_RESULTS_DIR, source: 'env' });
    expect(record.plan.experiments[0]!.configHash).toMatch(/^[0-9a-f]{16}$/);
    // The user config's energy default is applied under the file.
    expect(record.plan.experiments[0]!.config.energy.sample_interval_ms).toBe(50);
    // A flag beats the env var.
    const flagged = await llem(['status', '--json', '--store', 'sqlite'], { ...env, LLEM_STORE: 'fs' });
    expect(jsonLines(flagged.stdout)[0]).toMatchObject({ type: 'status', store: 'sqlite' });
  });

  it('schema: JSON Schema generated from the zod schemas', async () => {
    const r = await llem(['config', 'schema', 'experiment'], box.env);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['model', 'n', 'precision', 'pytorch', 'openai', 'vllm']),
    );
    // Every built-in backend's section is the strict schema the backend validates with.
    const sections = schema.properties as Record<
      string,
      { additionalProperties?: unknown; properties?: object }
    >;
    for (const name of ['pytorch', 'openai', 'vllm'])
      expect(sections[name]?.additionalProperties, name).toBe(false);
    expect(Object.keys(sections.openai!.properties!)).toEqual(
      expect.arrayContaining(['server', 'endpoint', 'concurrency', 'request_rate']),
    );
    expect(Object.keys(sections.vllm!.properties!)).toEqual(
      expect.arrayContaining(['max_num_seqs', 'tensor_parallel_size', 'engine_args']),
    );
  });

  it('--version prints the version', async () => {
    const r = await llem(['--version'], box.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^llem \d+\.\d+\.\d+/);
  });
});
