import { type Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { createParser } from 'eventsource-parser';
import type { RequestRecord, RequestStatus } from './types.js';

/** What one request needs; `t0` is the run's `performance.now()` origin. */
export interface OneRequest {
  url: URL;
  /** Keep-alive agent shared by the run's requests. */
  agent: Agent;
  body: string;
  headers: Record<string, string>;
  api: 'chat' | 'completions';
  t0: number;
  timeoutMs: number | null;
  signal: AbortSignal | undefined;
}

interface Chunk {
  choices?: Array<{
    text?: unknown;
    delta?: { content?: unknown; reasoning_content?: unknown };
    finish_reason?: unknown;
  }>;
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null;
  error?: unknown;
}

/**
 * POSTs with node:http (a fraction of global fetch's CPU per request in Node 20, which matters when
 * the client must not be what is measured); resolves with the status and the body as a utf-8
 * stream, which the caller reads at once (events come from I/O, never before its listeners).
 */
function post(req: OneRequest, signal: AbortSignal): Promise<{ status: number; stream: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const send = req.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const r = send(req.url, { method: 'POST', headers: req.headers, agent: req.agent, signal }, (res) => {
      res.setEncoding('utf8');
      resolve({ status: res.statusCode ?? 0, stream: res });
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

const TIMEOUT = Symbol('timeout');
const ABORTED = Symbol('aborted');

function oneLine(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

function textOf(chunk: Chunk, api: 'chat' | 'completions'): string {
  const choice = chunk.choices?.[0];
  if (!choice) return '';
  if (api === 'completions') return typeof choice.text === 'string' ? choice.text : '';
  const delta = choice.delta;
  if (!delta) return '';
  const content = typeof delta.content === 'string' ? delta.content : '';
  const reasoning = typeof delta.reasoning_content === 'string' ? delta.reasoning_content : '';
  return content + reasoning;
}

/**
 * Sends one streamed request and times it. Never throws: every failure is a record with a status.
 * A stream that ends cleanly counts as ok with or without `[DONE]` (some servers, e.g. `transformers
 * serve`, send none); a server-sent `{"error": ...}` event, a non-2xx answer or a broken connection
 * is an error.
 */
export async function sendRequest(
  req: OneRequest,
  base: { index: number; promptIndex: number; scheduledMs: number | null; sentMs: number },
): Promise<RequestRecord> {
  const controller = new AbortController();
  const onRunAbort = () => controller.abort(ABORTED);
  if (req.signal?.aborted) controller.abort(ABORTED);
  else req.signal?.addEventListener('abort', onRunAbort, { once: true });
  const timer =
    req.timeoutMs === null ? undefined : setTimeout(() => controller.abort(TIMEOUT), req.timeoutMs);

  const tokenMs: number[] = [];
  let inputTokens: number | null = null;
  let usageOutput: number | null = null;
  let finishReason: string | undefined;
  let streamError: string | undefined;
  let done = false;
  let httpStatus: number | undefined;

  const finish = (status: RequestStatus, error?: string): RequestRecord => {
    const record: RequestRecord = {
      ...base,
      firstTokenMs: tokenMs[0] ?? null,
      endMs: performance.now() - req.t0,
      tokenMs,
      inputTokens,
      outputTokens: usageOutput ?? tokenMs.length,
      tokenSource: usageOutput === null ? 'chunks' : 'usage',
      status,
    };
    if (error !== undefined) record.error = error;
    if (httpStatus !== undefined) record.httpStatus = httpStatus;
    if (finishReason !== undefined) record.finishReason = finishReason;
    return record;
  };

  try {
    const { status, stream } = await post(req, controller.signal);
    httpStatus = status;
    if (status < 200 || status >= 300) {
      let text = '';
      for await (const part of stream) text += part;
      if (text.length > 2000) text = text.slice(0, 2000);
      return finish('error', `HTTP ${status}${text ? `: ${oneLine(text)}` : ''}`);
    }
    let at = 0;
    const parser = createParser({
      onEvent(event) {
        if (done || streamError) return;
        if (event.data === '[DONE]') {
          done = true;
          return;
        }
        let chunk: Chunk;
        try {
          chunk = JSON.parse(event.data) as Chunk;
        } catch {
          streamError = `unparseable SSE data: ${oneLine(event.data, 120)}`;
          return;
        }
        if (chunk.error !== undefined && chunk.error !== null) {
          const e = chunk.error as { message?: unknown };
          streamError = `server error: ${oneLine(typeof e === 'object' && typeof e.message === 'string' ? e.message : JSON.stringify(chunk.error))}`;
          return;
        }
        if (textOf(chunk, req.api).length > 0) tokenMs.push(at);
        const reason = chunk.choices?.[0]?.finish_reason;
        if (typeof reason === 'string') finishReason = reason;
        const usage = chunk.usage;
        if (usage && typeof usage.completion_tokens === 'number') {
          usageOutput = usage.completion_tokens;
          if (typeof usage.prompt_tokens === 'number') inputTokens = usage.prompt_tokens;
        }
      },
    });
    // Flowing mode: each piece is parsed the moment it arrives, so nothing is left unread in a
    // buffer when the connection breaks afterwards.
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (part: string) => {
        at = performance.now() - req.t0;
        parser.feed(part);
        if (streamError) {
          stream.destroy();
          resolve();
        }
      });
      stream.on('end', resolve);
      stream.on('error', reject);
      stream.on('close', () => {
        if (!stream.complete && !streamError) {
          reject(
            Object.assign(new Error('connection closed before the end of the answer'), {
              code: 'ECONNRESET',
            }),
          );
        }
      });
    });
    if (streamError) return finish('error', streamError);
    return finish('ok');
  } catch (error) {
    const reason = controller.signal.reason;
    if (controller.signal.aborted && reason === TIMEOUT) {
      return finish('timeout', `no complete answer within ${(req.timeoutMs ?? 0) / 1000} s`);
    }
    if (controller.signal.aborted && reason === ABORTED) return finish('aborted', 'run aborted');
    const e = error as NodeJS.ErrnoException;
    const detail = e.code ?? e.message;
    const phase = httpStatus === undefined ? 'connection failed' : 'connection dropped mid-stream';
    return finish('error', `${phase}: ${oneLine(String(detail))}`);
  } finally {
    if (timer) clearTimeout(timer);
    req.signal?.removeEventListener('abort', onRunAbort);
  }
}
