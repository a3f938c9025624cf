import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import {
  BaselineConfigSchema,
  ConfigError,
  configErrorFrom,
  EnergyConfigSchema,
  LAUNCH_CHOICES,
  loadConfigFile,
  type RawConfig,
  validateWith,
} from '@llem/core';
import { DEFAULT_MAX_RUNS } from '@llem/core/orchestration';
import envPaths from 'env-paths';
import { z } from 'zod';

/**
 * Where llem keeps things and how it launches, resolved from four layers, highest first:
 * command-line flags > LLEM_* environment variables > the user config file > built-in defaults.
 * Each resolved value remembers which layer it came from (`llem config show` prints it).
 */

export const APP_NAME = 'llenergymeasure';
export const STORE_NAMES = ['sqlite', 'fs'] as const;
export const EXECUTOR_NAMES = ['local', 'slurm'] as const;
/** The old name of the launch mode setting (and of the slurm executor): read, with a notice. */
export const RUNNER_CHOICES = ['auto', 'local', 'docker', 'slurm'] as const;
export type StoreName = (typeof STORE_NAMES)[number];
export type RunnerChoice = (typeof RUNNER_CHOICES)[number];
export type LaunchSetting = (typeof LAUNCH_CHOICES)[number];

/** The user config file (~/.config/llenergymeasure/config.yaml). Strict: a typo is an error. */
export const UserConfigSchema = z.strictObject({
  defaults: z
    .strictObject({
      store: z.enum(STORE_NAMES).optional().describe('State store: sqlite (default) or fs'),
      state_dir: z.string().min(1).optional().describe('Directory of the state store'),
      results_dir: z.string().min(1).optional().describe('Where results are written (default ./results)'),
      launch: z
        .enum(LAUNCH_CHOICES)
        .optional()
        .describe('auto: docker when it is ready (client, daemon, image), else local'),
      executor: z
        .string()
        .regex(/^[a-z][a-z0-9-]{0,63}$/)
        .optional()
        .describe('How studies run: local (default), slurm, or an installed executor plugin'),
      runner: z
        .enum(RUNNER_CHOICES)
        .optional()
        .describe('Old name of launch (and of executor: slurm); read with a notice'),
      python: z
        .string()
        .min(1)
        .optional()
        .describe('Python of the harness venv (default: the one `llem setup pytorch` made)'),
      max_runs: z
        .number()
        .int()
        .min(1)
        .optional()
        .describe(`Most experiment-cycles a study may expand to (default ${DEFAULT_MAX_RUNS})`),
    })
    .optional()
    .describe('Defaults of the command-line settings (a flag, then an LLEM_* variable, win over them)'),
  /** Experiment defaults: used when an experiment file does not set them. */
  energy: EnergyConfigSchema.pick({
    sample_interval_ms: true,
    cpu_tdp_watts: true,
    samplers: true,
    quality_policy: true,
  })
    .partial()
    .optional()
    .describe('Energy defaults for experiments that do not set them'),
  baseline: BaselineConfigSchema.partial()
    .optional()
    .describe('Baseline defaults for experiments that do not set them'),
  plugins: z
    .array(z.string().min(1))
    .optional()
    .describe('Plugin modules or packages to load (like LLEM_PLUGINS)'),
});
export type UserConfig = z.infer<typeof UserConfigSchema>;

export type SettingSource = 'flag' | 'env' | 'user-config' | 'default';
export interface Setting<T> {
  value: T;
  source: SettingSource;
}

export interface Settings {
  /** sqlite, fs, or the name of a store plugin (resolved by PluginRegistry). */
  store: Setting<string>;
  stateDir: Setting<string>;
  resultsDir: Setting<string>;
  launch: Setting<LaunchSetting>;
  executor: Setting<string>;
  /** One line per deprecated setting name in use (LLEM_RUNNER, --runner, defaults.runner). */
  notices: string[];
  python: Setting<string | null>;
  /** Most experiment-cycles (experiments x cycles) a study may expand to. */
  maxRuns: Setting<number>;
  plugins: string[];
  /** Path of the user config file and whether it exists. */
  userConfigPath: string;
  userConfigLoaded: boolean;
  /** Experiment defaults from the user config (energy/baseline), applied under each experiment file. */
  experimentDefaults: RawConfig;
}

export interface SettingFlags {
  store?: string;
  stateDir?: string;
  resultsDir?: string;
  launch?: string;
  executor?: string;
  /** Old name of `launch` (and `--runner slurm` of `--executor slurm`). */
  runner?: string;
  python?: string;
  /** A number from commander, or text. */
  maxRuns?: number | string;
}

export function defaultPaths(env: NodeJS.ProcessEnv = process.env): { configFile: string; stateDir: string } {
  const paths = envPaths(APP_NAME, { suffix: '' });
  // env-paths reads XDG_* at import; honour the env we are given (tests pass their own).
  const home = env.HOME ?? '';
  const config = env.XDG_CONFIG_HOME
    ? resolve(env.XDG_CONFIG_HOME, APP_NAME)
    : home
      ? resolve(home, '.config', APP_NAME)
      : paths.config;
  const state = env.XDG_STATE_HOME
    ? resolve(env.XDG_STATE_HOME, APP_NAME)
    : home
      ? resolve(home, '.local', 'state', APP_NAME)
      : paths.log;
  return { configFile: resolve(config, 'config.yaml'), stateDir: state };
}

export function loadUserConfig(path: string): { config: UserConfig; loaded: boolean } {
  if (!existsSync(path)) return { config: {}, loaded: false };
  const { raw } = loadConfigFile(path);
  const parsed = validateWith(UserConfigSchema, raw);
  if (!parsed.ok) {
    const error = configErrorFrom(parsed.issues, `${path} (user config)`);
    throw new ConfigError(error.message, {
      fix: 'Fix or remove the field(s) in your user config; see docs/configuration.md.',
    });
  }
  return { config: parsed.data, loaded: true };
}

/** Where a setting's bad value came from, as the user wrote it: --flag, LLEM_ENV or defaults.key. */
export function whereSet(name: string, source: SettingSource): string {
  if (source === 'flag') return `--${name.replaceAll('_', '-')}`;
  if (source === 'env') return `LLEM_${name.toUpperCase()}`;
  return `defaults.${name}`;
}

function pick<T extends string>(
  name: string,
  allowed: readonly T[],
  layers: [SettingSource, string | undefined][],
  fallback: T,
): Setting<T> {
  for (const [source, value] of layers) {
    if (value === undefined || value === '') continue;
    if (!(allowed as readonly string[]).includes(value)) {
      throw new ConfigError(`${whereSet(name, source)}: '${value}' is not one of ${allowed.join(', ')}.`, {
        fix: `Use one of: ${allowed.join(', ')}.`,
      });
    }
    return { value: value as T, source };
  }
  return { value: fallback, source: 'default' };
}

/** A built-in or third-party plugin name: checked for shape here, resolved by PluginRegistry. */
function pickPluginName(
  name: string,
  layers: [SettingSource, string | undefined][],
  fallback: string,
): Setting<string> {
  for (const [source, value] of layers) {
    if (value === undefined || value === '') continue;
    if (!/^[a-z][a-z0-9-]{0,63}$/.test(value)) {
      throw new ConfigError(`${whereSet(name, source)}: '${value}' is not a ${name} name.`, {
        fix: `Use ${name === 'store' ? STORE_NAMES.join(', ') : EXECUTOR_NAMES.join(', ')} or the name of an installed llem-${name}-<name> plugin.`,
      });
    }
    return { value, source };
  }
  return { value: fallback, source: 'default' };
}

/** A whole number >= 1 (the user config's value is already one: the schema checked it). */
function pickCount(
  name: string,
  layers: [SettingSource, string | number | undefined][],
  fallback: number,
): Setting<number> {
  for (const [source, value] of layers) {
    if (value === undefined || value === '') continue;
    const text = String(value).trim();
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < 1) {
      throw new ConfigError(`${whereSet(name, source)}: '${value}' is not a whole number >= 1.`, {
        fix: `Give a count, e.g. ${name === 'max_runs' ? '200000' : '1'}.`,
      });
    }
    return { value: Number(text), source };
  }
  return { value: fallback, source: 'default' };
}

function pickPath(
  layers: [SettingSource, string | undefined][],
  fallback: string | null,
  cwd: string,
): Setting<string | null> {
  for (const [source, value] of layers) {
    if (value === undefined || value === '') continue;
    return { value: isAbsolute(value) ? value : resolve(cwd, value), source };
  }
  return { value: fallback, source: 'default' };
}

/**
 * `launch` and `executor`, with their old spelling `runner` (flag, LLEM_RUNNER, defaults.runner)
 * still read at its place in the precedence: `--runner docker` is `--launch docker`, `--runner
 * slurm` is `--executor slurm`. Each old spelling in use adds a notice.
 */
function launchAndExecutor(
  flags: SettingFlags,
  env: NodeJS.ProcessEnv,
  d: NonNullable<UserConfig['defaults']>,
): Pick<Settings, 'launch' | 'executor' | 'notices'> {
  const notices: string[] = [];
  const legacy = (where: string, value: string | undefined, kind: 'launch' | 'executor') => {
    if (value === undefined || value === '') return undefined;
    if (!(RUNNER_CHOICES as readonly string[]).includes(value))
      throw new ConfigError(`${where}: '${value}' is not one of ${RUNNER_CHOICES.join(', ')}.`, {
        fix: 'Use --launch auto|local|docker, or --executor local|slurm.',
      });
    const isExecutor = value === 'slurm';
    if (isExecutor !== (kind === 'executor')) return undefined;
    const now = where.startsWith('--')
      ? isExecutor
        ? '--executor'
        : '--launch'
      : where.startsWith('LLEM_')
        ? isExecutor
          ? 'LLEM_EXECUTOR'
          : 'LLEM_LAUNCH'
        : isExecutor
          ? 'defaults.executor'
          : 'defaults.launch';
    const notice = `${where} is now ${now} (the old name works until the next minor version).`;
    if (!notices.includes(notice)) notices.push(notice);
    return value;
  };
  const launch = pick(
    'launch',
    LAUNCH_CHOICES,
    [
      ['flag', flags.launch ?? legacy('--runner', flags.runner, 'launch')],
      ['env', env.LLEM_LAUNCH || legacy('LLEM_RUNNER', env.LLEM_RUNNER, 'launch')],
      ['user-config', d.launch ?? legacy('defaults.runner', d.runner, 'launch')],
    ],
    'auto',
  );
  const executor = pickPluginName(
    'executor',
    [
      ['flag', flags.executor ?? legacy('--runner', flags.runner, 'executor')],
      ['env', env.LLEM_EXECUTOR || legacy('LLEM_RUNNER', env.LLEM_RUNNER, 'executor')],
      ['user-config', d.executor ?? legacy('defaults.runner', d.runner, 'executor')],
    ],
    'local',
  );
  return { launch, executor, notices };
}

/** Resolves every setting from flags, env, user config and defaults. */
export function resolveSettings(
  flags: SettingFlags = {},
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): Settings {
  const paths = defaultPaths(env);
  const userConfigPath = env.LLEM_CONFIG ? resolve(cwd, env.LLEM_CONFIG) : paths.configFile;
  if (env.LLEM_CONFIG && !existsSync(userConfigPath)) {
    throw new ConfigError(`LLEM_CONFIG points to ${userConfigPath}, which does not exist.`, {
      fix: 'Fix the path or unset LLEM_CONFIG.',
    });
  }
  const { config: user, loaded } = loadUserConfig(userConfigPath);
  const d = user.defaults ?? {};
  const layers = (
    flag: string | undefined,
    envName: string,
    userValue: string | undefined,
  ): [SettingSource, string | undefined][] => [
    ['flag', flag],
    ['env', env[envName]],
    ['user-config', userValue],
  ];
  const experimentDefaults: RawConfig = {};
  if (user.energy && Object.keys(user.energy).length) experimentDefaults.energy = user.energy;
  if (user.baseline && Object.keys(user.baseline).length) experimentDefaults.baseline = user.baseline;
  const envPlugins = (env.LLEM_PLUGINS ?? '')
    .split(/[,:]/)
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    store: pickPluginName('store', layers(flags.store, 'LLEM_STORE', d.store), 'sqlite'),
    stateDir: pickPath(
      layers(flags.stateDir, 'LLEM_STATE_DIR', d.state_dir),
      paths.stateDir,
      cwd,
    ) as Setting<string>,
    resultsDir: pickPath(
      layers(flags.resultsDir, 'LLEM_RESULTS_DIR', d.results_dir),
      resolve(cwd, 'results'),
      cwd,
    ) as Setting<string>,
    ...launchAndExecutor(flags, env, d),
    python: pickPath(layers(flags.python, 'LLEM_PYTHON', d.python), null, cwd),
    maxRuns: pickCount(
      'max_runs',
      [
        ['flag', flags.maxRuns],
        ['env', env.LLEM_MAX_RUNS],
        ['user-config', d.max_runs],
      ],
      DEFAULT_MAX_RUNS,
    ),
    plugins: [...(user.plugins ?? []), ...envPlugins],
    userConfigPath,
    userConfigLoaded: loaded,
    experimentDefaults,
  };
}
