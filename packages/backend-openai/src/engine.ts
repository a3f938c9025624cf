import type { BackendPlugin, DoctorCheck, ExperimentConfig, LaunchMode } from '@llem/core';
import { z } from 'zod';
import { type OpenAIConfig, OpenAIConfigSchema, PORT_PLACEHOLDER } from './config.js';
import { createOpenAIBackend } from './plugin.js';

/** The serving backend's load keys an engine section takes as they are (docs/serving.md). */
const { server: _server, endpoint: _endpoint, ...loadShape } = OpenAIConfigSchema.shape;

/** How long to wait for the engine's server, and how to stop it: `<engine>.server`. */
const EngineServerSchema = z.strictObject({
  ready_timeout_s: z.number().positive().max(86_400).default(1800),
  stop_grace_s: z.number().min(0).max(600).default(30),
});

/**
 * The keys every engine section has besides its own settings: the serving load keys, `server`
 * (readiness and stop) and `engine_args`, flags passed to the engine's server as they are.
 */
export const engineSectionShape = {
  ...loadShape,
  server: EngineServerSchema.prefault({}),
  engine_args: z
    .array(z.string().min(1))
    .default([])
    .describe('extra command-line arguments for the engine server, passed as they are'),
};

type LoadKeys = z.infer<z.ZodObject<typeof loadShape>>;
/** What every engine section holds after validation, besides its own settings. */
export type EngineSectionBase = LoadKeys & {
  server: z.infer<typeof EngineServerSchema>;
  engine_args: string[];
};

/** Runs the serving backend's cross-field checks (concurrency vs request_rate, ...) on an engine section. */
function refineLoad(section: Record<string, unknown>, ctx: z.core.$RefinementCtx<unknown>): void {
  const load = Object.fromEntries(Object.keys(loadShape).map((k) => [k, section[k]]));
  const checked = OpenAIConfigSchema.safeParse({ ...load, endpoint: 'http://127.0.0.1:1' });
  if (!checked.success) for (const issue of checked.error.issues) ctx.addIssue({ ...issue, code: 'custom' });
}

/** A strict engine section: the engine's own settings plus the shared engine keys. */
export function engineSectionSchema<S extends z.ZodRawShape>(settings: S) {
  return z.strictObject({ ...settings, ...engineSectionShape }).superRefine(refineLoad);
}

/** What an engine's server command is given. */
export interface ServerCommandContext<Section> {
  config: ExperimentConfig;
  section: Section;
  launch: LaunchMode;
  /** The port placeholder (`{port}`) the serving backend replaces with the port it gives the server. */
  port: string;
}

export interface ServerCommand {
  argv: string[];
  env?: Record<string, string>;
  /** Polled until it answers 200; omitted: `/health`, then `/v1/models`. */
  readyPath?: string;
}

export interface EngineBackendOptions<Section extends EngineSectionBase> {
  name: string;
  version: string;
  sectionSchema: z.ZodType<Section>;
  /** The pinned container image, and the environment variable that overrides it. */
  image?: { tag: string; envOverride: string };
  supportedLaunchModes?: readonly LaunchMode[];
  supportedPrecisions?: BackendPlugin['supportedPrecisions'];
  serverCommand(ctx: ServerCommandContext<Section>): ServerCommand;
  doctor?(env: NodeJS.ProcessEnv): Promise<DoctorCheck[]>;
}

/** The serving backend's section for an engine section: its server command plus the load keys. */
export function servingSectionOf<Section extends EngineSectionBase>(
  options: Pick<EngineBackendOptions<Section>, 'serverCommand'>,
  config: ExperimentConfig,
  section: Section,
  launch: LaunchMode,
): OpenAIConfig {
  const command = options.serverCommand({ config, section, launch, port: PORT_PLACEHOLDER });
  const argv = [...command.argv, ...section.engine_args];
  const load = Object.fromEntries(
    Object.keys(loadShape).map((k) => [k, (section as Record<string, unknown>)[k]]),
  );
  return OpenAIConfigSchema.parse({
    ...load,
    server: {
      argv,
      ...(command.env ? { env: command.env } : {}),
      ...(command.readyPath ? { ready_path: command.readyPath } : {}),
      ready_timeout_s: section.server.ready_timeout_s,
      stop_grace_s: section.server.stop_grace_s,
    },
  });
}

/**
 * A thin backend for one inference engine (vLLM, SGLang, ...): it knows how to start the engine's
 * OpenAI-compatible server and which settings it takes; the load, windows and metrics are the
 * serving (`openai`) backend's.
 */
export function createEngineBackend<Section extends EngineSectionBase>(
  options: EngineBackendOptions<Section>,
): BackendPlugin<Section> {
  const serving = createOpenAIBackend();
  const servingOf = (config: ExperimentConfig, section: Section, launch: LaunchMode) =>
    servingSectionOf(options, config, section, launch);
  const plugin: BackendPlugin<Section> = {
    name: options.name,
    version: options.version,
    configSchema: options.sectionSchema,
    supportedPrecisions: options.supportedPrecisions ?? serving.supportedPrecisions,
    // Docker launch of an engine server is not built yet: local only.
    supportedLaunchModes: options.supportedLaunchModes ?? ['local'],
    estimateSeconds: (config, section) =>
      (serving.estimateSeconds?.(config, servingOf(config, section, 'local')) ?? 10) + 60,
    prepare: (ctx) => serving.prepare({ ...ctx, section: servingOf(ctx.config, ctx.section, ctx.launch) }),
    collect: (ctx) => serving.collect({ ...ctx, section: servingOf(ctx.config, ctx.section, ctx.launch) }),
    completeResult: (ctx) =>
      serving.completeResult
        ? serving.completeResult({ ...ctx, section: servingOf(ctx.config, ctx.section, ctx.launch) })
        : Promise.resolve({}),
  };
  if (options.image) {
    const { tag, envOverride } = options.image;
    plugin.image = (env = process.env) => env[envOverride] || tag;
  }
  if (options.doctor) {
    const doctor = options.doctor;
    plugin.doctor = () => doctor(process.env);
  }
  return plugin;
}
