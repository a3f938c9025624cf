import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ScriptOptions, scriptToArgs } from './options.js';

export { parseScriptArgs, SCRIPT_FLAGS, type ScriptOptions, scriptToArgs } from './options.js';
export {
  type ReceivedRequest,
  type ScriptedServer,
  type ServerScript,
  scriptedToken,
  startScriptedServer,
} from './server.js';

/** Path of the built executable (`dist/testing/serve.js`), from the sources or the build. */
export function scriptedServerBin(): string {
  const here = import.meta.url;
  const bin = here.endsWith('.ts')
    ? fileURLToPath(new URL('../../dist/testing/serve.js', here))
    : fileURLToPath(new URL('./serve.js', here));
  if (!existsSync(bin))
    throw new Error(`${bin} is missing: build @llem/loadgen first (pnpm exec turbo run build)`);
  return bin;
}

/**
 * An argv that starts the scripted server as its own process; it prints
 * `{"event":"listening","port":N,"baseUrl":...}` on stdout when ready.
 */
export function scriptedServerArgv(script: ScriptOptions): string[] {
  return [process.execPath, scriptedServerBin(), ...scriptToArgs(script)];
}
