import { z } from 'zod';

/** `{port}` in `server.argv` (and `server.env` values) is replaced by the port llem gives the server. */
export const PORT_PLACEHOLDER = '{port}';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const ServerConfigSchema = z
  .strictObject({
    /** The server's command line, run without a shell in the workload's process group. */
    argv: z.array(z.string().min(1)).min(1).describe('server command line; `{port}` is replaced by the port'),
    /** Extra environment for the server (never a secret: the config is stored in every result). */
    env: z
      .record(z.string().regex(ENV_NAME, 'environment variable names are letters, digits and _'), z.string())
      .optional(),
    /** The port the server listens on; omitted: a free port, written where argv says `{port}`. */
    port: z.number().int().min(1).max(65535).optional(),
    /** Polled until it answers 200; omitted: `/health`, then `/v1/models`. */
    ready_path: z.string().regex(/^\//, 'ready_path starts with /').optional(),
    ready_timeout_s: z.number().positive().max(86_400).default(600),
    /** Seconds between SIGTERM and SIGKILL when the server is stopped. */
    stop_grace_s: z.number().min(0).max(600).default(10),
  })
  .superRefine((server, ctx) => {
    const hasPlaceholder = server.argv.some((arg) => arg.includes(PORT_PLACEHOLDER));
    if (server.port === undefined && !hasPlaceholder)
      ctx.addIssue({
        code: 'custom',
        path: ['argv'],
        message: `names no port: put ${PORT_PLACEHOLDER} where the server takes its port (e.g. --port ${PORT_PLACEHOLDER}), or set openai.server.port`,
      });
  });

/** The `openai:` config section (docs/serving.md). */
export const OpenAIConfigSchema = z
  .strictObject({
    /** llem starts this server and stops it after the run ... */
    server: ServerConfigSchema.optional(),
    /** ... or measures one already running here (its processes are not llem's). */
    endpoint: z
      .url({ protocol: /^https?$/, error: 'endpoint is an http(s) URL such as http://127.0.0.1:8000' })
      .optional(),
    api: z.enum(['chat', 'completions']).default('chat'),
    /** The model name sent in each request; omitted: the experiment's `model`. */
    model: z.string().min(1).optional(),
    /** Closed loop: this many requests in flight. */
    concurrency: z.number().int().min(1).max(100_000).optional(),
    /** Open loop: mean arrivals per second (Poisson, or gamma with `burstiness`). */
    request_rate: z.number().positive().optional(),
    burstiness: z.number().positive().optional(),
    /** Stop after this many requests; omitted (and no duration_s): the experiment's `n`. */
    requests: z.number().int().min(1).optional(),
    /** Or send for this long. */
    duration_s: z.number().positive().optional(),
    /** Output tokens asked per request; omitted: the experiment's `max_output_tokens`. */
    max_tokens: z.number().int().min(1).optional(),
    /**
     * Requests sent one at a time before the load, not measured: a server's one-time costs (a lazy
     * model load, compilation, caches) are not serving. A failed warm-up request fails the run.
     */
    warmup_requests: z.number().int().min(0).max(10_000).default(1),
    /** Open loop: the steady state starts this long after the first arrival. */
    warmup_s: z.number().min(0).default(0),
    /** Per request, from send to its last byte. */
    timeout_s: z.number().positive().default(300),
    /** A run whose (errors + timeouts) / requests is above this fails. */
    max_error_rate: z.number().min(0).max(1).default(0),
    /** The name of the environment variable that holds the API key (sent as a Bearer token). */
    api_key_env: z
      .string()
      .regex(ENV_NAME, 'api_key_env is the name of an environment variable, not the key')
      .optional(),
    /** Per-request energy: weight of one prompt (prefill) token relative to one output token. */
    prefill_weight: z.number().min(0).max(100).default(0.1),
  })
  .superRefine((section, ctx) => {
    if ((section.server === undefined) === (section.endpoint === undefined))
      ctx.addIssue({
        code: 'custom',
        path: section.server ? ['endpoint'] : ['server'],
        message:
          'set exactly one of openai.server (llem starts the server: {argv: [...]}) and openai.endpoint (a server already running)',
      });
    if (section.concurrency !== undefined && section.request_rate !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['request_rate'],
        message: 'set concurrency (closed loop) or request_rate (open loop), not both',
      });
    if (section.burstiness !== undefined && section.request_rate === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['burstiness'],
        message: 'burstiness shapes open-loop arrivals: set request_rate too, or remove burstiness',
      });
    if (section.warmup_s > 0 && section.request_rate === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['warmup_s'],
        message:
          'warmup_s applies to open loop (request_rate); a closed loop is steady once its concurrency is reached: remove warmup_s',
      });
  });
export type OpenAIConfig = z.infer<typeof OpenAIConfigSchema>;
