import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  type BackendCatalog,
  BackendError,
  type BackendPlugin,
  type WorkloadResult,
  WorkloadResultSchema,
} from '../../../src/index.js';

const WORKLOAD = fileURLToPath(new URL('./script-workload.mjs', import.meta.url));

export const ScriptSectionSchema = z.strictObject({
  mode: z.enum(['ok', 'fail', 'fail-once', 'crash', 'hang']).default('ok'),
  message: z.string().default('model failed to load'),
  output_tokens: z.number().int().min(0).default(10),
  sleep_ms: z.number().int().min(0).default(0),
  batch_size: z.number().int().min(1).default(1),
});

export interface ScriptBackendOptions {
  /** Each measured window appends the experiment id here (to count measurements). */
  ledger?: string;
  /** fail-once mode: fails while this file is absent, and creates it. */
  failOnceMarker?: string;
  /** A "secrets" file written by prepare and listed in cleanupPaths (absolute, outside workDir). */
  secretsFile?: string;
}

/** A backend written against the BackendPlugin contract: runs script-workload.mjs with node. */
export function scriptBackend(options: ScriptBackendOptions = {}): BackendPlugin {
  return {
    name: 'script',
    version: '0.0.1',
    configSchema: ScriptSectionSchema,
    supportedLaunchModes: ['local'],
    async prepare(ctx) {
      const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
      if (options.ledger) env.LEDGER = options.ledger;
      if (options.failOnceMarker) env.FAIL_ONCE_MARKER = options.failOnceMarker;
      if (options.secretsFile) await writeFile(options.secretsFile, 'HF_TOKEN=secret\n', { mode: 0o600 });
      return {
        ...(options.secretsFile ? { cleanupPaths: [options.secretsFile] } : {}),
        spec: {
          argv: [process.execPath, WORKLOAD, join(ctx.workDir, 'launch.json'), ctx.workDir],
          env,
          cwd: ctx.workDir,
          graceMs: 500,
        },
        files: [
          {
            path: 'launch.json',
            content: JSON.stringify({ config: ctx.config, experimentId: ctx.experimentId }),
          },
        ],
        description: `node script-workload.mjs (${ctx.experimentId})`,
      };
    },
    async collect(ctx): Promise<WorkloadResult> {
      let text: string;
      try {
        text = await readFile(join(ctx.workDir, 'workload-result.json'), 'utf8');
      } catch {
        throw new BackendError('the workload wrote no workload-result.json');
      }
      return WorkloadResultSchema.parse(JSON.parse(text));
    },
  };
}

export function catalogOf(...plugins: BackendPlugin[]): BackendCatalog {
  return { get: (name) => plugins.find((p) => p.name === name), names: () => plugins.map((p) => p.name) };
}
