/**
 * The files between the backend (host side) and its workload script: what the workload is asked
 * to do (`WorkloadInput`, written by prepare) and what it reports beside workload-result.json
 * (`ServingRun` and one request record per line). All in the attempt's work directory.
 */

import type { MsWindow } from '@llem/loadgen';

export const INPUT_FILE = 'openai-workload.json';
export const RUN_FILE = 'serving-run.json';
export const RECORDS_FILE = 'requests-raw.jsonl';
export const WORKLOAD_RESULT_FILE = 'workload-result.json';
export const ERROR_FILE = 'error.json';
export const SERVER_LOG_FILE = 'server.log';
/** The per-request file next to result.json. */
export const REQUESTS_FILE = 'requests.jsonl';

export interface ServerInput {
  argv: string[];
  env: Record<string, string>;
  port: number | null;
  readyPath: string | null;
  readyTimeoutS: number;
  stopGraceS: number;
}

export interface WorkloadInput {
  experimentId: string;
  backendVersion: string;
  /** The experiment's `model` (what result.json names). */
  model: string;
  server: ServerInput | null;
  endpoint: string | null;
  /** A 0600 env file (KEY=VALUE) holding the API key, outside the work dir; deleted after the run. */
  secretsFile: string | null;
  apiKeyEnv: string | null;
  load: {
    api: 'chat' | 'completions';
    model: string;
    prompts: string[];
    mode:
      | { kind: 'closed'; concurrency: number }
      | { kind: 'open'; requestRate: number; burstiness?: number };
    seed: number;
    requests?: number;
    durationS?: number;
    maxTokens: number;
    decoding: Record<string, unknown>;
    timeoutS: number;
    warmupS: number;
    warmupRequests: number;
  };
  maxErrorRate: number;
}

/** What the workload writes beside its records: how to place them on the meter's clock. */
export interface ServingRun {
  /** The load's t0 on CLOCK_MONOTONIC (ns, decimal): record times are ms after it. */
  t0MonoNs: string;
  t0EpochMs: number;
  baseUrl: string;
  windows: { whole: MsWindow; steady: MsWindow | null };
  /** The window the workload reported with window-start/window-end. */
  headline: 'steady' | 'whole';
  aborted: boolean;
}
