import { stringify } from 'yaml';
import { z } from 'zod';
import { builtinBackendSections, createRegistry } from '../compose.js';
import type { Output } from '../output.js';
import { loadPlan } from '../plan.js';
import { resolveSettings, type Settings, UserConfigSchema } from '../settings.js';

export interface ValidateFlags {
  /** `--max-runs`: most experiment-cycles the study may expand to. */
  maxRuns?: number | string;
}

/** `llem config validate <file>`: exit 0 when valid, 2 (ConfigError) with every problem otherwise. */
export async function validateCommand(file: string, out: Output, flags: ValidateFlags = {}): Promise<number> {
  const settings = resolveSettings({ maxRuns: flags.maxRuns });
  const { plan } = await loadPlan(file, {
    registry: createRegistry(settings),
    experimentDefaults: settings.experimentDefaults,
    maxRuns: settings.maxRuns.value,
  });
  if (out.json) {
    out.record({
      type: 'valid',
      file,
      kind: plan.kind,
      studyId: plan.studyId,
      experiments: plan.experiments.map((e) => ({ label: e.label, configHash: e.configHash })),
      runs: plan.runs.length,
      duplicates: plan.duplicates,
    });
  } else {
    const what =
      plan.kind === 'study'
        ? `study '${plan.name}': ${plan.experiments.length} experiment(s) x ${plan.cycles} cycle(s) = ${plan.runs.length} run(s)`
        : `experiment ${plan.experiments[0]!.configHash}`;
    out.line(`ok: ${file} is valid (${what})`);
    for (const duplicate of plan.duplicates)
      out.info(`note: ${duplicate.origin} is the same experiment as ${duplicate.duplicateOf}; measured once`);
  }
  return 0;
}

/**
 * The settings in effect with their source, by the name the user config gives them (`state_dir`);
 * `--json` prints the same under camelCase keys (`stateDir`). The user config's source is `loaded`
 * or `not found` (then the built-in defaults apply).
 */
export function describeSettings(settings: Settings): Record<string, { value: unknown; source: string }> {
  return {
    store: settings.store,
    state_dir: settings.stateDir,
    results_dir: settings.resultsDir,
    launch: settings.launch,
    executor: settings.executor,
    python:
      settings.python.value === null
        ? { value: '(the venv `llem setup pytorch` creates)', source: 'default' }
        : settings.python,
    max_runs: settings.maxRuns,
    user_config: {
      value: settings.userConfigPath,
      source: settings.userConfigLoaded ? 'loaded' : 'not found',
    },
  };
}

const camel = (key: string) => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** `llem config show [file]`: the settings in effect, and the resolved config(s) with their hashes. */
export async function showCommand(file: string | undefined, out: Output): Promise<number> {
  const settings = resolveSettings();
  const described = describeSettings(settings);
  const plan = file
    ? (
        await loadPlan(file, {
          registry: createRegistry(settings),
          experimentDefaults: settings.experimentDefaults,
          maxRuns: settings.maxRuns.value,
        })
      ).plan
    : undefined;
  if (out.json) {
    out.record({
      type: 'config',
      settings: Object.fromEntries(Object.entries(described).map(([key, value]) => [camel(key), value])),
      experimentDefaults: settings.experimentDefaults,
      plan: plan && {
        kind: plan.kind,
        studyId: plan.studyId,
        designHash: plan.designHash,
        cycles: plan.cycles,
        order: plan.order,
        experiments: plan.experiments.map((e) => ({
          label: e.label,
          configHash: e.configHash,
          config: e.config,
        })),
      },
    });
    return 0;
  }
  out.line('Settings (flag > env > user config > default)');
  for (const [key, { value, source }] of Object.entries(described))
    out.line(
      `  ${key.padEnd(12)} ${String(value)}  (${key === 'user_config' && source === 'not found' ? 'not found: built-in defaults apply' : source})`,
    );
  if (Object.keys(settings.experimentDefaults).length) {
    out.line('Experiment defaults from the user config');
    out.line(indent(stringify(settings.experimentDefaults).trimEnd(), 2));
  }
  if (plan) {
    out.line('');
    if (plan.kind === 'study')
      out.line(
        `Study ${plan.studyId} (design hash ${plan.designHash}): ${plan.cycles} cycle(s), order ${plan.order}`,
      );
    for (const experiment of plan.experiments) {
      out.line(`# ${experiment.label}`);
      out.line(`# config hash: ${experiment.configHash}`);
      out.line(stringify(experiment.config).trimEnd());
      out.line('');
    }
  }
  return 0;
}

function indent(text: string, spaces: number): string {
  return text
    .split('\n')
    .map((line) => ' '.repeat(spaces) + line)
    .join('\n');
}

/** JSON Schema generated from the zod schemas (never hand-kept), backend sections included. */
export async function jsonSchemaOf(kind: string): Promise<unknown> {
  if (kind === 'user') return z.toJSONSchema(UserConfigSchema, { io: 'input', unrepresentable: 'any' });
  const { generateJsonSchemas } = await import('@llem/core/results');
  const schemas = generateJsonSchemas({ backends: await builtinBackendSections() });
  return kind === 'study'
    ? schemas['study.schema.json']
    : kind === 'result'
      ? schemas['result.schema.json']
      : schemas['experiment-config.schema.json'];
}

/** `llem config schema [experiment|study|user|result]`. */
export async function schemaCommand(kind: string, out: Output): Promise<number> {
  const schema = await jsonSchemaOf(kind);
  // --json: one line like every other command; without it, the schema itself, indented.
  if (out.json) out.record({ type: 'schema', kind, schema });
  else out.line(JSON.stringify(schema, null, 2));
  return 0;
}
