import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendCatalog, BackendPlugin } from '@llem/core';
import { type ScriptOptions, scriptedServerArgv } from '@llem/loadgen/testing';

export function catalogOf(plugin: BackendPlugin): BackendCatalog {
  return { get: (name) => (name === plugin.name ? plugin : undefined), names: () => [plugin.name] };
}

/**
 * A fake `vllm` executable: `vllm serve MODEL ... --port P ...` execs the scripted SSE server
 * (@llem/loadgen/testing) on port P, and writes its argv to `<dir>/argv` for the test to read.
 */
export function fakeVllm(script: Partial<ScriptOptions>, marker: string): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'llem-fake-vllm-'));
  const server = scriptedServerArgv({ firstTokenMs: 5, perTokenMs: 2, tokens: 8, ...script, model: marker });
  const quoted = server.map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`).join(' ');
  const path = join(dir, 'vllm');
  writeFileSync(
    path,
    `#!/bin/sh
printf '%s\\n' "$@" > '${dir}/argv'
[ "$1" = serve ] || { echo "fake vllm: expected 'serve', got '$1'" >&2; exit 2; }
port=
while [ $# -gt 0 ]; do
  if [ "$1" = --port ]; then port=$2; fi
  shift
done
exec ${quoted} --port "$port"
`,
  );
  chmodSync(path, 0o755);
  return { path, dir };
}
