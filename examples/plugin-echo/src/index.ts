import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BackendContext,
  BackendError,
  type BackendPlugin,
  buildSubprocessEnv,
  type CollectContext,
  definePlugin,
  type LaunchPlan,
  WorkloadResultSchema,
} from '@llem/core';
import { z } from 'zod';

/** The `echo:` config section. */
export const EchoConfigSchema = z.strictObject({
  /** Run this argv once per request (the "work"); empty = no command. */
  command: z.array(z.string().min(1)).default([]),
  seconds_per_request: z.number().min(0).max(3600).default(0),
  input_tokens_per_request: z.number().int().min(0).default(8),
  output_tokens_per_request: z.number().int().min(1).default(16),
  /** For fault tests: fail at this point with `fail_message`. */
  fail_at: z.enum(['never', 'load', 'window']).default('never'),
  fail_message: z.string().default('echo failure requested by config'),
});
export type EchoConfig = z.infer<typeof EchoConfigSchema>;

const workloadScript = fileURLToPath(new URL('../bin/echo-workload.mjs', import.meta.url));
const CONFIG_FILE = 'echo-config.json';

export function createEchoBackend(): BackendPlugin<EchoConfig> {
  return {
    name: 'echo',
    version: '0.1.0',
    configSchema: EchoConfigSchema,
    supportedPrecisions: ['fp32', 'fp16', 'bf16'],
    supportedLaunchModes: ['local'],
    estimateSeconds: (config, section) => 0.1 + config.n * section.seconds_per_request,

    async prepare(ctx: BackendContext<EchoConfig>): Promise<LaunchPlan> {
      if (ctx.launch !== 'local')
        throw new BackendError(`The echo backend runs locally only (asked: ${ctx.launch}).`, {
          fix: 'Use --launch local.',
        });
      const payload = { experiment_id: ctx.experimentId, config_hash: ctx.configHash, config: ctx.config };
      return {
        files: [{ path: CONFIG_FILE, content: JSON.stringify(payload) }],
        spec: {
          argv: [process.execPath, workloadScript, join(ctx.workDir, CONFIG_FILE), ctx.workDir],
          // LLEM_ECHO_JOURNAL: fault tests read from it which windows ran (see bin/echo-workload.mjs).
          env: buildSubprocessEnv({ passthrough: ['LLEM_ECHO_JOURNAL'] }),
          cwd: ctx.workDir,
          graceMs: 2000,
          label: `echo ${ctx.experimentId}`,
        },
        description: `node echo-workload.mjs (${ctx.config.n} requests)`,
      };
    },

    async collect(ctx: CollectContext<EchoConfig>) {
      if (ctx.outcome.kind !== 'exited' || ctx.outcome.exitCode !== 0) {
        const reason = await readFile(join(ctx.workDir, 'error.json'), 'utf8')
          .then((text) => (JSON.parse(text) as { message: string }).message)
          .catch(
            () =>
              ctx.stderrTail.at(-1) ?? `${ctx.outcome.kind} ${ctx.outcome.exitCode ?? ctx.outcome.signal}`,
          );
        throw new BackendError(`echo workload failed: ${reason}`);
      }
      const text = await readFile(join(ctx.workDir, 'workload-result.json'), 'utf8');
      return WorkloadResultSchema.parse(JSON.parse(text));
    },
  };
}

export const echoBackend = createEchoBackend();

/** Found by name: `backend: echo` resolves the package `llem-backend-echo`. */
export default definePlugin({ kind: 'backend', name: 'echo', create: () => createEchoBackend() });
