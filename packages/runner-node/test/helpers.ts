import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { liveGroupMembers } from '../src/proc.js';

export const packageRoot = fileURLToPath(new URL('..', import.meta.url));
export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
/** Debian's python starts in ~10 ms; the pyenv shim takes ~90 ms. */
export const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
export const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

/** Polls `predicate` every 20 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(predicate: () => boolean, timeoutMs = 2_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (predicate()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True once no live (non-zombie) process is left in any of the groups. */
export function groupsGone(pgids: Iterable<number>): boolean {
  for (const pgid of pgids) if (liveGroupMembers(pgid).length > 0) return false;
  return true;
}

export interface NodeFixture {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first stdout line matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a TypeScript fixture in a real Node process (tsx, sources via the dev-source condition). */
export function startNodeFixture(name: string, args: string[]): NodeFixture {
  const child = spawn(
    process.execPath,
    ['--conditions=dev-source', '--import', 'tsx', fixture(name), ...args],
    {
      cwd: packageRoot,
      // tsx applies a tsconfig only to the files it includes; this one covers core's decorators too.
      env: { ...process.env, TSX_TSCONFIG_PATH: fixture('tsconfig.json') },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let buffer = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    buffer += text;
    let nl = buffer.indexOf('\n');
    while (nl !== -1) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
      nl = buffer.indexOf('\n');
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    lines,
    exited,
    waitForLine(pattern, timeoutMs = 20_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`no line matching ${pattern} within ${timeoutMs} ms; got:\n${lines.join('\n')}`),
            ),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
  };
}
