import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** What the scripted server does; every delay is measured from the moment a request's headers arrive. */
export interface ServerScript {
  /** Delay from a request's arrival to its first output token (ms). */
  firstTokenMs: number;
  /** Delay between consecutive output tokens (ms). */
  perTokenMs: number;
  /** Output tokens per answer (fewer when the request's max_tokens is smaller). */
  tokens: number;
  /** Tokens per SSE chunk (default 1); with more than 1, chunk counting undercounts. */
  tokensPerChunk?: number;
  /** Every k-th completion request (k, 2k, ...) answers HTTP 500. */
  errorEvery?: number;
  /** After this many tokens the stream goes silent and stays open. */
  stallAfterTokens?: number;
  /** After this many tokens the connection is destroyed (no end of stream). */
  dropAfterTokens?: number;
  /** /health, /v1/models and the completion routes answer 503 for ever. */
  neverReady?: boolean;
  /** When completion request n + 1 arrives, every connection is destroyed and the server stops listening. */
  crashAfterRequests?: number;
  /** Send a usage chunk when the request asks with stream_options.include_usage (default true). */
  usage?: boolean;
  /** Model id served (default `scripted`). */
  model?: string;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Called after a scripted crash (the executable exits here). */
  onCrash?: () => void;
}

export interface ReceivedRequest {
  /** 1-based count of completion requests (health and model queries are not counted). */
  count: number;
  method: string;
  path: string;
  /** Parsed JSON body (undefined when none or not JSON). */
  body: unknown;
  /** `performance.now()` of this process when the request's headers arrived. */
  receivedMs: number;
  /** The same moment as epoch ms with sub-ms precision (`performance.timeOrigin + receivedMs`), comparable across processes. */
  receivedEpochMs: number;
  /** HTTP status answered. */
  status: number;
  /** The request headers as received (lower-case names; repeated headers joined with `, `), so a test can assert what was sent. */
  headers: Record<string, string>;
}

export interface ScriptedServer {
  baseUrl: string;
  port: number;
  /** Completion requests, in arrival order. */
  requests: ReceivedRequest[];
  /** Whether the scripted crash has happened. */
  crashed(): boolean;
  /** Stops listening and destroys every open connection (stalled streams included). */
  close(): Promise<void>;
}

/** Words the server streams: token i is ` t<i>`. */
export const scriptedToken = (i: number): string => ` t${i}`;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

/** Resolves at `due` (performance.now() ms): a timer, then yields until due, so no token is early. */
function at(due: number, fn: () => void): void {
  const left = due - performance.now();
  const spin = () => (performance.now() >= due ? fn() : setImmediate(spin));
  // Never synchronous: a write and what follows it (a scripted drop) must not share one tick.
  if (left > 1) setTimeout(spin, left - 1);
  else setImmediate(spin);
}

/**
 * Starts an OpenAI-compatible SSE server whose timing is scripted exactly: a fixed delay to the
 * first token and between tokens, injected errors, stalls, dropped connections, a server that
 * never gets ready, and one that crashes after n requests. Serves `/health`, `/v1/models`,
 * `/v1/completions` and `/v1/chat/completions` (streamed; `stream: false` gets one JSON answer),
 * and `GET /scripted/requests`: the received completion requests without their bodies.
 */
export async function startScriptedServer(script: ServerScript): Promise<ScriptedServer> {
  const model = script.model ?? 'scripted';
  const perChunk = Math.max(1, script.tokensPerChunk ?? 1);
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  let count = 0;
  let crashed = false;

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (req, res) => {
    const receivedMs = performance.now();
    const path = (req.url ?? '/').split('?')[0] as string;
    if (req.method === 'GET' && (path === '/health' || path === '/v1/models')) {
      if (script.neverReady) return json(res, 503, { error: { message: 'scripted: never ready' } });
      if (path === '/health') return json(res, 200, { status: 'ok' });
      return json(res, 200, { object: 'list', data: [{ id: model, object: 'model', owned_by: 'llem' }] });
    }
    if (req.method === 'GET' && path === '/scripted/requests') {
      // For a client in another process (tests, bench): what arrived when, without the bodies.
      return json(
        res,
        200,
        requests.map(({ body: _body, ...r }) => r),
      );
    }
    const api = path === '/v1/chat/completions' ? 'chat' : path === '/v1/completions' ? 'completions' : null;
    if (req.method !== 'POST' || api === null)
      return json(res, 404, { error: { message: `no route ${path}` } });

    void readBody(req).then((raw) => {
      if (crashed) return;
      count++;
      let body: Record<string, unknown> | undefined;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        body = undefined;
      }
      const record: ReceivedRequest = {
        count,
        method: 'POST',
        path,
        body,
        receivedMs,
        receivedEpochMs: performance.timeOrigin + receivedMs,
        status: 200,
        headers: Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
        ),
      };
      requests.push(record);
      if (script.crashAfterRequests !== undefined && count > script.crashAfterRequests) {
        crashed = true;
        record.status = 0;
        server.close();
        for (const s of sockets) s.destroy();
        script.onCrash?.();
        return;
      }
      const fail = (status: number, message: string) => {
        record.status = status;
        json(res, status, { error: { message, type: 'server_error' } });
      };
      if (script.neverReady) return fail(503, 'scripted: never ready');
      if (!body) return fail(400, 'body is not JSON');
      if (script.errorEvery !== undefined && count % script.errorEvery === 0) {
        return fail(500, `scripted error on request ${count}`);
      }
      const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : script.tokens;
      const total = Math.max(0, Math.min(script.tokens, maxTokens));
      const prompt =
        api === 'chat'
          ? JSON.stringify((body.messages as unknown[] | undefined) ?? [])
          : String(body.prompt ?? '');
      const promptTokens = prompt.split(/\s+/).filter(Boolean).length;
      const wantsUsage =
        (script.usage ?? true) &&
        (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
      const id = `scripted-${count}`;
      const created = Math.floor(Date.now() / 1000);
      const object = api === 'chat' ? 'chat.completion.chunk' : 'text_completion';
      const choice = (text: string | null, finish: string | null) =>
        api === 'chat'
          ? {
              index: 0,
              delta: text === null ? { role: 'assistant', content: '' } : { content: text },
              finish_reason: finish,
            }
          : { index: 0, text: text ?? '', finish_reason: finish };
      const usage = {
        prompt_tokens: promptTokens,
        completion_tokens: total,
        total_tokens: promptTokens + total,
      };

      if (body.stream !== true) {
        const text = Array.from({ length: total }, (_, i) => scriptedToken(i)).join('');
        at(receivedMs + script.firstTokenMs + Math.max(0, total - 1) * script.perTokenMs, () =>
          json(res, 200, {
            id,
            object: api === 'chat' ? 'chat.completion' : 'text_completion',
            created,
            model,
            choices: [
              api === 'chat'
                ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'length' }
                : { index: 0, text, finish_reason: 'length' },
            ],
            usage,
          }),
        );
        return;
      }

      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      const send = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
      if (api === 'chat') send({ id, object, created, model, choices: [choice(null, null)] });
      else res.flushHeaders();
      let sent = 0;
      const step = () => {
        if (res.destroyed) return;
        if (script.dropAfterTokens !== undefined && sent >= script.dropAfterTokens) {
          record.status = 0;
          res.socket?.destroy();
          return;
        }
        if (script.stallAfterTokens !== undefined && sent >= script.stallAfterTokens) return; // silent, open
        if (sent >= total) {
          if (wantsUsage) send({ id, object, created, model, choices: [], usage });
          res.end('data: [DONE]\n\n');
          return;
        }
        const n = Math.min(perChunk, total - sent);
        const text = Array.from({ length: n }, (_, i) => scriptedToken(sent + i)).join('');
        sent += n;
        send({ id, object, created, model, choices: [choice(text, sent >= total ? 'length' : null)] });
        // Token k (0-based) is due at arrival + firstTokenMs + k * perTokenMs; a chunk goes with its last token.
        const nextLast = Math.min(sent + perChunk, total) - 1;
        if (sent >= total) step();
        else at(receivedMs + script.firstTokenMs + nextLast * script.perTokenMs, step);
      };
      if (total === 0) step();
      else at(receivedMs + script.firstTokenMs + (Math.min(perChunk, total) - 1) * script.perTokenMs, step);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(script.port ?? 0, script.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = script.host ?? '127.0.0.1';
  return {
    baseUrl: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    requests,
    crashed: () => crashed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}
