import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BackendContext,
  BackendError,
  type BackendPlugin,
  buildSubprocessEnv,
  type CollectContext,
  type CompleteResultContext,
  type ExperimentConfig,
  type LaunchPlan,
  type ResultAddition,
  WorkloadResultSchema,
  writeSecretEnvFile,
} from '@llem/core';
import { type OpenAIConfig, OpenAIConfigSchema } from './config.js';
import { loadPrompts } from './prompts.js';
import { ERROR_FILE, INPUT_FILE, WORKLOAD_RESULT_FILE, type WorkloadInput } from './run-files.js';
import { servingAddition } from './serving-result.js';

/**
 * Set by a bundler that ships the workload script next to its output (the llem CLI's build): its
 * path relative to the bundled file, and this package's version. Undefined from src/ and dist/.
 */
declare const __LLEM_BACKEND_OPENAI_WORKLOAD__: string | undefined;
declare const __LLEM_BACKEND_OPENAI_VERSION__: string | undefined;

/** The workload script, run by the runner with this Node (`process.execPath`). */
export const WORKLOAD_SCRIPT: string = fileURLToPath(
  new URL(
    typeof __LLEM_BACKEND_OPENAI_WORKLOAD__ === 'string'
      ? __LLEM_BACKEND_OPENAI_WORKLOAD__
      : '../dist/workload/main.js',
    import.meta.url,
  ),
);

export const PACKAGE_VERSION: string =
  typeof __LLEM_BACKEND_OPENAI_VERSION__ === 'string'
    ? __LLEM_BACKEND_OPENAI_VERSION__
    : (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
        .version;

/** Decoding settings an OpenAI-compatible server takes, from the experiment's `decoder`. */
function decodingOf(config: ExperimentConfig): Record<string, unknown> {
  const d = config.decoder;
  const body: Record<string, unknown> = { temperature: d.do_sample ? d.temperature : 0, top_p: d.top_p };
  if (d.repetition_penalty !== 1) body.repetition_penalty = d.repetition_penalty;
  if (d.min_p !== null) body.min_p = d.min_p;
  return body;
}

/** Requests the load sends (or, with duration_s only, how many prompts to load). */
function requestCount(config: ExperimentConfig, section: OpenAIConfig): number | undefined {
  if (section.requests !== undefined) return section.requests;
  return section.duration_s !== undefined ? undefined : config.n;
}

export function createOpenAIBackend(): BackendPlugin<OpenAIConfig> {
  return {
    name: 'openai',
    version: PACKAGE_VERSION,
    configSchema: OpenAIConfigSchema,
    supportedPrecisions: ['fp32', 'fp16', 'bf16'],
    supportedLaunchModes: ['local'],
    estimateSeconds: (config, section) => {
      if (section.duration_s !== undefined) return section.duration_s + 10;
      const requests = requestCount(config, section) ?? config.n;
      const parallel = section.concurrency ?? 1;
      const byRate = section.request_rate ? requests / section.request_rate : 0;
      return (
        10 + Math.max(byRate, (requests / parallel) * 0.05 * (section.max_tokens ?? config.max_output_tokens))
      );
    },

    async prepare(ctx: BackendContext<OpenAIConfig>): Promise<LaunchPlan> {
      const { config, section } = ctx;
      if (ctx.launch !== 'local')
        throw new BackendError(
          `The openai backend runs its server and load locally (asked: --launch ${ctx.launch}).`,
          {
            fix: 'Use --launch local; to run the server in a container, put `docker run --rm -p {port}:8000 ...` in openai.server.argv.',
          },
        );
      const requests = requestCount(config, section);
      const prompts = loadPrompts(config, Math.min(requests ?? config.n, 10_000));
      let secretsFile: string | null = null;
      const cleanupPaths: string[] = [];
      if (section.api_key_env) {
        const key = process.env[section.api_key_env];
        if (!key)
          throw new BackendError(`openai.api_key_env names ${section.api_key_env}, which is not set`, {
            fix: `export ${section.api_key_env}=<your key> before llem run, or remove openai.api_key_env.`,
          });
        // Outside the work dir (it is kept and shared with the results): deleted after the run.
        secretsFile = join(tmpdir(), `llem-openai-key-${ctx.experimentId}-${process.pid}-${Date.now()}.env`);
        await writeSecretEnvFile(secretsFile, { [section.api_key_env]: key });
        cleanupPaths.push(secretsFile);
      }
      const mode =
        section.request_rate !== undefined
          ? {
              kind: 'open' as const,
              requestRate: section.request_rate,
              ...(section.burstiness !== undefined ? { burstiness: section.burstiness } : {}),
            }
          : { kind: 'closed' as const, concurrency: section.concurrency ?? 1 };
      const input: WorkloadInput = {
        experimentId: ctx.experimentId,
        backendVersion: PACKAGE_VERSION,
        model: config.model,
        server: section.server
          ? {
              argv: section.server.argv,
              env: section.server.env ?? {},
              port: section.server.port ?? null,
              readyPath: section.server.ready_path ?? null,
              readyTimeoutS: section.server.ready_timeout_s,
              stopGraceS: section.server.stop_grace_s,
            }
          : null,
        endpoint: section.endpoint ?? null,
        secretsFile,
        apiKeyEnv: section.api_key_env ?? null,
        load: {
          api: section.api,
          model: section.model ?? config.model,
          prompts,
          mode,
          seed: config.random_seed,
          ...(requests !== undefined ? { requests } : {}),
          ...(section.duration_s !== undefined ? { durationS: section.duration_s } : {}),
          maxTokens: section.max_tokens ?? config.max_output_tokens,
          decoding: decodingOf(config),
          timeoutS: section.timeout_s,
          warmupS: section.warmup_s,
          warmupRequests: section.warmup_requests,
        },
        maxErrorRate: section.max_error_rate,
      };
      const target = section.server ? `${section.server.argv[0]} (started by llem)` : section.endpoint;
      const load =
        mode.kind === 'closed'
          ? `concurrency ${mode.concurrency}`
          : `${mode.requestRate} requests/s (open loop)`;
      return {
        files: [{ path: INPUT_FILE, content: JSON.stringify(input) }],
        spec: {
          argv: [process.execPath, WORKLOAD_SCRIPT, join(ctx.workDir, INPUT_FILE), ctx.workDir],
          env: buildSubprocessEnv({ gpus: config.gpus }),
          cwd: ctx.workDir,
          graceMs: ((section.server?.stop_grace_s ?? 5) + 5) * 1000,
          label: `openai ${ctx.experimentId}`,
        },
        description: `node workload: ${target}, ${load}, ${requests ?? `${section.duration_s} s of`} requests`,
        cleanupPaths,
      };
    },

    async collect(ctx: CollectContext<OpenAIConfig>) {
      if (ctx.outcome.kind !== 'exited' || ctx.outcome.exitCode !== 0) {
        const reason = await readFile(join(ctx.workDir, ERROR_FILE), 'utf8')
          .then((text) => (JSON.parse(text) as { message: string }).message)
          .catch(
            () =>
              ctx.stderrTail.at(-1) ??
              `the workload ${ctx.outcome.kind === 'signaled' ? `was killed by ${ctx.outcome.signal}` : `ended (${ctx.outcome.kind} ${ctx.outcome.exitCode ?? ''})`}`,
          );
        throw new BackendError(`openai workload failed: ${reason}`);
      }
      const text = await readFile(join(ctx.workDir, WORKLOAD_RESULT_FILE), 'utf8');
      return WorkloadResultSchema.parse(JSON.parse(text));
    },

    async completeResult(ctx: CompleteResultContext<OpenAIConfig>): Promise<ResultAddition> {
      return servingAddition(ctx);
    },
  };
}
