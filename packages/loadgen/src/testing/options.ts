import type { ServerScript } from './server.js';

/** Flags of the scripted-server executable; each also reads `LLEM_SCRIPTED_<NAME>` (e.g. LLEM_SCRIPTED_FIRST_TOKEN_MS). */
export const SCRIPT_FLAGS = {
  'first-token-ms': 'firstTokenMs',
  'per-token-ms': 'perTokenMs',
  tokens: 'tokens',
  'tokens-per-chunk': 'tokensPerChunk',
  'error-every': 'errorEvery',
  'stall-after-tokens': 'stallAfterTokens',
  'drop-after-tokens': 'dropAfterTokens',
  'crash-after-requests': 'crashAfterRequests',
  port: 'port',
} as const satisfies Record<string, keyof ServerScript>;

export type ScriptOptions = Omit<ServerScript, 'onCrash'>;

/** The argv flags that make the executable run `script` (the inverse of `parseScriptArgs`). */
export function scriptToArgs(script: ScriptOptions): string[] {
  const args: string[] = [];
  for (const [flag, key] of Object.entries(SCRIPT_FLAGS)) {
    const v = script[key];
    if (v !== undefined) args.push(`--${flag}`, String(v));
  }
  if (script.neverReady) args.push('--never-ready');
  if (script.usage === false) args.push('--no-usage');
  if (script.model !== undefined) args.push('--model', script.model);
  if (script.host !== undefined) args.push('--host', script.host);
  return args;
}

/** Reads a script from argv (`--flag value`) with env `LLEM_SCRIPTED_*` as fallback; throws one clear line on bad input. */
export function parseScriptArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ScriptOptions {
  const raw = new Map<string, string>();
  for (const flag of [...Object.keys(SCRIPT_FLAGS), 'model', 'host']) {
    const v = env[`LLEM_SCRIPTED_${flag.toUpperCase().replace(/-/g, '_')}`];
    if (v !== undefined && v !== '') raw.set(flag, v);
  }
  let neverReady = env.LLEM_SCRIPTED_NEVER_READY === '1';
  let usage = env.LLEM_SCRIPTED_NO_USAGE !== '1';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--never-ready') neverReady = true;
    else if (arg === '--no-usage') usage = false;
    else if (arg.startsWith('--')) {
      const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
      if (!(name in SCRIPT_FLAGS) && name !== 'model' && name !== 'host') {
        throw new Error(
          `unknown flag --${name}; known: ${[...Object.keys(SCRIPT_FLAGS), 'model', 'host', 'never-ready', 'no-usage'].map((f) => `--${f}`).join(' ')}`,
        );
      }
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`--${name} needs a value`);
      raw.set(name, value);
    } else throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
  }
  const script: Record<string, unknown> = { firstTokenMs: 20, perTokenMs: 5, tokens: 16, usage, neverReady };
  for (const [flag, key] of Object.entries(SCRIPT_FLAGS)) {
    const v = raw.get(flag);
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0)
      throw new Error(`--${flag} must be a number >= 0, got ${JSON.stringify(v)}`);
    script[key] = n;
  }
  if (raw.has('model')) script.model = raw.get('model');
  if (raw.has('host')) script.host = raw.get('host');
  return script as unknown as ScriptOptions;
}
