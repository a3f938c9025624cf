#!/usr/bin/env node
/**
 * The scripted SSE server as its own process, for tests that need "the server" as an argv:
 *   node dist/testing/serve.js --first-token-ms 20 --per-token-ms 5 --tokens 16 [--port 0]
 * Prints one JSON line `{"event":"listening","port":N,"baseUrl":"http://127.0.0.1:N"}` on stdout when
 * ready, exits 0 on SIGTERM/SIGINT/SIGHUP, and exits 1 after a scripted crash (--crash-after-requests).
 */
import { parseScriptArgs } from './options.js';
import { startScriptedServer } from './server.js';

let script: ReturnType<typeof parseScriptArgs>;
try {
  script = parseScriptArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exit(2);
}
const server = await startScriptedServer({
  ...script,
  onCrash: () => {
    process.stderr.write(`scripted server: crashing after ${script.crashAfterRequests} requests\n`);
    process.exit(1);
  },
});
process.stdout.write(
  `${JSON.stringify({ event: 'listening', port: server.port, baseUrl: server.baseUrl })}\n`,
);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(sig, () => {
    void server.close().then(() => process.exit(0));
  });
}
