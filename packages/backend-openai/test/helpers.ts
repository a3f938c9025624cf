import { type ScriptOptions, scriptedServerArgv } from '@llem/loadgen/testing';

export { processesMentioning } from '@llem/test-kit';

/**
 * The scripted SSE server (@llem/loadgen/testing) as `openai.server.argv`: its own process on the
 * port llem gives it. `marker` (sent as its model name) finds its process in /proc afterwards.
 */
export function scriptedServer(script: Partial<ScriptOptions>, marker: string): string[] {
  return [
    ...scriptedServerArgv({ firstTokenMs: 20, perTokenMs: 5, tokens: 16, ...script, model: marker }),
    '--port',
    '{port}',
  ];
}

/** A unique marker for one test's server processes. */
export function uniqueMarker(name: string): string {
  return `llem-e2e-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
