import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LoadSpec } from '../src/index.js';
import { type ScriptOptions, scriptToArgs } from '../src/testing/index.js';

const serveTs = fileURLToPath(new URL('../src/testing/serve.ts', import.meta.url));

/** The scripted server as its own process, run from the sources (no build needed). */
export async function startServerProcess(
  script: ScriptOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ child: ChildProcess; baseUrl: string; exited: Promise<number | null>; stderr: () => string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=dev-source', '--import', 'tsx', serveTs, ...scriptToArgs(script)],
    { stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = await Promise.race([
    new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)),
    exited.then((code) => {
      throw new Error(`scripted server exited ${code} before listening: ${err}`);
    }),
  ]);
  const { baseUrl } = JSON.parse(line) as { baseUrl: string };
  return { child, baseUrl, exited, stderr: () => err };
}

export const baseSpec = (baseUrl: string, over: Partial<LoadSpec> = {}): LoadSpec => ({
  baseUrl,
  api: 'completions',
  model: 'scripted',
  prompts: ['one two three', 'four five'],
  mode: { kind: 'closed', concurrency: 1 },
  seed: 1,
  requests: 4,
  maxTokens: 8,
  ...over,
});

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
