import { z } from 'zod';

/**
 * The workload protocol: a workload prints one JSON object per line on stdout, prefixed by
 * `PROTOCOL_PREFIX`, to tell the host where it is. Every other line is a log line.
 * Monotonic timestamps are CLOCK_MONOTONIC nanoseconds as decimal strings (JSON numbers
 * cannot carry 64-bit integers), e.g. Python's `str(time.monotonic_ns())`.
 *
 * Version 1 events, in order: loaded → warmup-done → window-start → progress* → window-end →
 * result. `error` may come at any point, then the workload exits non-zero.
 */
export const PROTOCOL_PREFIX = '@@llem ';
export const PROTOCOL_VERSION = 1 as const;

const monoNs = z.string().regex(/^\d{1,20}$/, 'monotonic nanoseconds as a decimal string');
const base = { v: z.literal(PROTOCOL_VERSION), t_mono_ns: monoNs };

export const ProtocolEventSchema = z.discriminatedUnion('event', [
  z.object({ ...base, event: z.literal('loaded'), load_seconds: z.number().nonnegative().optional() }),
  z.object({ ...base, event: z.literal('warmup-done'), prompts: z.number().int().nonnegative().optional() }),
  z.object({ ...base, event: z.literal('window-start') }),
  z.object({
    ...base,
    event: z.literal('progress'),
    done: z.number().int().nonnegative(),
    total: z.number().int().positive(),
  }),
  z.object({ ...base, event: z.literal('window-end') }),
  z.object({ ...base, event: z.literal('result'), path: z.string().min(1) }),
  z.object({ ...base, event: z.literal('error'), message: z.string(), kind: z.string().optional() }),
]);

export type ProtocolEvent = z.infer<typeof ProtocolEventSchema>;
export type ProtocolEventName = ProtocolEvent['event'];

export type ParsedLine =
  | { kind: 'event'; event: ProtocolEvent }
  | { kind: 'log'; text: string }
  | { kind: 'malformed'; text: string; reason: string };

/** Classifies one output line: a protocol event, a malformed event line, or a plain log line. */
export function parseProtocolLine(line: string): ParsedLine {
  if (!line.startsWith(PROTOCOL_PREFIX)) return { kind: 'log', text: line };
  let json: unknown;
  try {
    json = JSON.parse(line.slice(PROTOCOL_PREFIX.length));
  } catch {
    return { kind: 'malformed', text: line, reason: 'not JSON' };
  }
  const parsed = ProtocolEventSchema.safeParse(json);
  if (!parsed.success)
    return { kind: 'malformed', text: line, reason: parsed.error.issues[0]?.message ?? 'invalid' };
  return { kind: 'event', event: parsed.data };
}

/** Formats an event line (for TypeScript workloads such as test fixtures and plugins). */
export function formatProtocolEvent(
  event: Record<string, unknown> & { event: ProtocolEventName },
  monoNs: bigint = process.hrtime.bigint(),
): string {
  return `${PROTOCOL_PREFIX}${JSON.stringify({ v: PROTOCOL_VERSION, t_mono_ns: monoNs.toString(), ...event })}`;
}
