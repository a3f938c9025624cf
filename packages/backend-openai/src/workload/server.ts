import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import type { ServerInput } from '../run-files.js';

const PORT_PLACEHOLDER = '{port}';
const TAIL_LINES = 20;
const POLL_MS = 250;

/** Thrown by the server helpers: `message` is one line for the user, the log tail follows it. */
export class ServerFailure extends Error {
  constructor(
    message: string,
    readonly kind: 'server-not-ready' | 'server-exited' | 'server-start',
  ) {
    super(message);
  }
  readonly serverFailure = true;
}

/** A ServerFailure, recognised by its brand (not instanceof). */
export function isServerFailure(error: unknown): error is ServerFailure {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { serverFailure?: unknown }).serverFailure === true
  );
}

/** A free TCP port on 127.0.0.1 (the kernel picks; the server binds it right after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A server llem started: a child of the workload, in the workload's process group (not detached),
 * so the runner's group semantics (SIGTERM, SIGKILL, the watchdog) reach it whatever happens to
 * the workload. Its stdout and stderr go to a log file; the last lines are kept for errors.
 */
export class ManagedServer {
  readonly baseUrl: string;
  private readonly child: ChildProcess;
  private readonly tail: string[] = [];
  private partial = '';
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exited: Promise<void>;
  private stopping = false;
  /** Called once if the server exits before stop() was called. */
  onUnexpectedExit: ((description: string) => void) | null = null;

  private constructor(
    private readonly input: ServerInput,
    port: number,
    logPath: string,
    env: Record<string, string>,
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`;
    const fill = (text: string) => text.split(PORT_PLACEHOLDER).join(String(port));
    const argv = input.argv.map(fill);
    const serverEnv = { ...env };
    for (const [key, value] of Object.entries(input.env)) serverEnv[key] = fill(value);
    const log = createWriteStream(logPath, { flags: 'a', mode: 0o600 });
    this.child = spawn(argv[0]!, argv.slice(1), { env: serverEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      const lines = (this.partial + chunk.toString('utf8')).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.keep(line);
    };
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.exit) return;
        if (this.partial) this.keep(this.partial);
        this.partial = '';
        this.exit = { code, signal };
        log.end();
        if (!this.stopping) this.onUnexpectedExit?.(this.exitDescription());
        resolve();
      };
      this.child.on('exit', done);
      this.child.on('error', (error) => {
        this.keep(`cannot start ${argv[0]}: ${error.message}`);
        done(127, null);
      });
    });
  }

  static async start(
    input: ServerInput,
    logPath: string,
    env: Record<string, string>,
  ): Promise<ManagedServer> {
    const port = input.port ?? (await freePort());
    return new ManagedServer(input, port, logPath, env);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exit !== null;
  }

  private keep(line: string): void {
    const text = line.replace(/\r$/, '');
    if (!text.trim()) return;
    this.tail.push(text.length > 500 ? `${text.slice(0, 500)}…` : text);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
  }

  /** The server log's last lines, for an error message. */
  logTail(lines = 8): string {
    const last = this.tail.slice(-lines);
    return last.length ? `; the server log ends:\n  ${last.join('\n  ')}` : '; the server wrote nothing';
  }

  exitDescription(): string {
    if (!this.exit) return 'is running';
    return this.exit.signal ? `was killed by ${this.exit.signal}` : `exited with code ${this.exit.code}`;
  }

  /** Polls the ready path (else /health, then /v1/models) until one answers 200. */
  async waitReady(headers: Record<string, string>): Promise<void> {
    const paths = this.input.readyPath ? [this.input.readyPath] : ['/health', '/v1/models'];
    const deadline = Date.now() + this.input.readyTimeoutS * 1000;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (this.exit)
        throw new ServerFailure(
          `the server ${this.exitDescription()} before it was ready (${this.input.argv[0]})${this.logTail()}`,
          'server-exited',
        );
      for (const path of paths) {
        try {
          const response = await fetch(`${this.baseUrl}${path}`, {
            headers,
            signal: AbortSignal.timeout(Math.max(500, Math.min(5000, deadline - Date.now()))),
          });
          await response.arrayBuffer().catch(() => undefined);
          if (response.status === 200) return;
          last = `${path} answered ${response.status}`;
        } catch (error) {
          last = `${path}: ${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name}`;
        }
      }
      await Promise.race([new Promise((r) => setTimeout(r, POLL_MS)), this.exited]);
    }
    throw new ServerFailure(
      `the server was not ready after ${this.input.readyTimeoutS} s at ${this.baseUrl} (last: ${last}); raise openai.server.ready_timeout_s or fix the server command${this.logTail()}`,
      'server-not-ready',
    );
  }

  /** Waits up to `ms` for the server to exit (a crash whose exit is not reported yet); true if it did. */
  async exitedWithin(ms: number): Promise<boolean> {
    if (this.exit) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
    return this.exit !== null;
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves when the server has exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.exit) return;
    this.child.kill('SIGTERM');
    const grace = this.input.stopGraceS * 1000;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), grace);
    await this.exited;
    clearTimeout(timer);
  }
}
