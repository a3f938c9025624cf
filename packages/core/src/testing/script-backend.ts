import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { BackendError } from '../errors.js';
import type { BackendCatalog, BackendPlugin } from '../plugins/backend.js';
import { definePlugin } from '../plugins/registry.js';
import { type WorkloadResult, WorkloadResultSchema } from '../results/workload-result.js';

/**
 * `script`: a real, fast backend for tests of llem's orchestration and of executors. Its workload
 * is a small Node program speaking llem's protocol (v1), written into the run's work directory
 * and run as a real process by whatever runner measures the run, here or in another process (a
 * Slurm job's `llem exec` loads this module by path: `plugins: [SCRIPT_BACKEND_MODULE]`, or the
 * built file of `@llem/core/testing/script-backend` for a process that runs plain JavaScript).
 *
 * Everything a run does comes from its `script:` section, so it travels with the experiment
 * config to any process: `ledger` is a file each measured window appends its experiment id to (a
 * test counts measurements with it, see `readLedger`), `mode` makes the workload fail, crash or
 * hang.
 */

export const ScriptSectionSchema = z.strictObject({
  mode: z.enum(['ok', 'fail', 'fail-once', 'crash', 'hang']).default('ok'),
  message: z.string().default('model failed to load'),
  output_tokens: z.number().int().min(0).default(10),
  sleep_ms: z.number().int().min(0).default(0),
  batch_size: z.number().int().min(1).default(1),
  /** Each measured window appends the experiment id here (absolute path): one line per measurement. */
  ledger: z.string().min(1).optional(),
  /** fail-once mode: fails while this file is absent, and creates it. */
  fail_once_marker: z.string().min(1).optional(),
});
export type ScriptSection = z.infer<typeof ScriptSectionSchema>;

export interface ScriptBackendOptions {
  /** A "secrets" file written by prepare and listed in cleanupPaths (absolute, outside workDir). */
  secretsFile?: string;
}

/** This module's file (the plugin module to list under `plugins:`), as this process loaded it. */
export const SCRIPT_BACKEND_MODULE: string = fileURLToPath(import.meta.url);

/** The workload, run with this Node: argv <launch.json> <out-dir>; behaviour from `config.script`. */
export const SCRIPT_WORKLOAD_SOURCE = `// llem's script test workload (written by @llem/core/testing/script-backend).
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [launchPath, outDir] = process.argv.slice(2);
const { config, experimentId } = JSON.parse(readFileSync(launchPath, 'utf8'));
const s = config.script;
const mono = () => process.hrtime.bigint();
const emit = (event, fields = {}) =>
  process.stdout.write(
    '@@llem ' + JSON.stringify({ v: 1, t_mono_ns: mono().toString(), event, ...fields }) + '\\n',
  );
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const fail = (message) => {
  emit('error', { message });
  process.exit(3);
};

emit('loaded', { load_seconds: 0 });
if (s.mode === 'fail') fail(s.message);
if (s.mode === 'fail-once' && !(s.fail_once_marker && existsSync(s.fail_once_marker))) {
  if (s.fail_once_marker) writeFileSync(s.fail_once_marker, '');
  fail(s.message);
}
if (s.mode === 'crash') {
  process.stderr.write('simulated crash: out of memory\\n');
  process.exit(137);
}
emit('warmup-done', { prompts: 0 });
if (s.ledger) appendFileSync(s.ledger, experimentId + '\\n');
const startNs = mono();
const startUtc = new Date().toISOString();
emit('window-start');
if (s.mode === 'hang') setInterval(() => {}, 1000);
else {
  for (let i = 0; i < config.n; i++) {
    if (s.sleep_ms > 0) sleep(s.sleep_ms);
    emit('progress', { done: i + 1, total: config.n });
  }
  const endNs = mono();
  emit('window-end');
  const duration = Number(endNs - startNs) / 1e9;
  const output = config.n * s.output_tokens;
  const input = config.n * 8;
  const rate = (x) => (duration > 0 ? x / duration : 0);
  const stats = { count: 0, mean: null, p50: null, p90: null, p99: null, min: null, max: null };
  const result = {
    workload_schema_version: 1,
    backend: 'script',
    backend_version: '0.0.1',
    model: config.model,
    window: {
      start_mono_ns: startNs.toString(),
      end_mono_ns: endNs.toString(),
      start_utc: startUtc,
      end_utc: new Date().toISOString(),
      duration_s: duration,
    },
    requests: config.n,
    batches: config.n,
    tokens: { input, output, total: input + output },
    throughput: {
      output_tokens_per_s: rate(output),
      total_tokens_per_s: rate(input + output),
      requests_per_s: rate(config.n),
    },
    latency: { ttft_ms: stats, itl_ms: stats, tpot_ms: stats, e2e_ms: stats, method: 'none' },
    warmup: null,
    memory: null,
    flops: null,
    environment: { node: process.version },
    energy_cross_check: null,
    warnings: [],
  };
  writeFileSync(join(outDir, 'workload-result.json.tmp'), JSON.stringify(result));
  renameSync(join(outDir, 'workload-result.json.tmp'), join(outDir, 'workload-result.json'));
  emit('result', { path: join(outDir, 'workload-result.json') });
}
`;

/** A backend written against the BackendPlugin contract: runs the script workload with this Node. */
export function scriptBackend(options: ScriptBackendOptions = {}): BackendPlugin<ScriptSection> {
  return {
    name: 'script',
    version: '0.0.1',
    configSchema: ScriptSectionSchema,
    supportedLaunchModes: ['local'],
    async prepare(ctx) {
      if (options.secretsFile) await writeFile(options.secretsFile, 'HF_TOKEN=secret\n', { mode: 0o600 });
      return {
        ...(options.secretsFile ? { cleanupPaths: [options.secretsFile] } : {}),
        spec: {
          argv: [
            process.execPath,
            join(ctx.workDir, 'workload.mjs'),
            join(ctx.workDir, 'launch.json'),
            ctx.workDir,
          ],
          env: { PATH: process.env.PATH ?? '' },
          cwd: ctx.workDir,
          graceMs: 500,
        },
        files: [
          { path: 'workload.mjs', content: SCRIPT_WORKLOAD_SOURCE },
          {
            path: 'launch.json',
            content: JSON.stringify({ config: ctx.config, experimentId: ctx.experimentId }),
          },
        ],
        description: `node workload.mjs (${ctx.experimentId})`,
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

/** A BackendCatalog of exactly these plugins. */
export function catalogOf(...plugins: BackendPlugin[]): BackendCatalog {
  return { get: (name) => plugins.find((p) => p.name === name), names: () => plugins.map((p) => p.name) };
}

/** The experiment ids a ledger file holds, one per measured window (empty when none was measured). */
export async function readLedger(path: string): Promise<string[]> {
  try {
    return (await readFile(path, 'utf8')).split('\n').filter(Boolean);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** The plugin module: `plugins: [SCRIPT_BACKEND_MODULE]` makes `backend: script` resolve. */
export default definePlugin({ kind: 'backend', name: 'script', create: () => scriptBackend() });
