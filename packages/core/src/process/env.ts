import { open, unlink } from 'node:fs/promises';

/**
 * Environment of a workload process. Workloads get an allow-list of the host environment, not a
 * copy of it: a copy leaks every secret of the shell into the workload and its logs, and makes
 * runs depend on whatever the user happened to export. Secrets travel only through a 0600 env
 * file (see writeSecretEnvFile), never argv and never this map, which may be shown by --dry-run.
 */

/** Host variables a workload may inherit. `LC_*` are allowed too. */
export const SUBPROCESS_ENV_ALLOWLIST: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'TERM',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'XDG_CACHE_HOME',
  'LD_LIBRARY_PATH',
  'CUDA_HOME',
  // The GPUs this process may use (a Slurm job's allocation): kept unless `gpus` names others.
  'CUDA_VISIBLE_DEVICES',
  // Hugging Face caches and offline switches (the token is a secret: see SECRET_ENV_KEYS).
  'HF_HOME',
  'HF_HUB_CACHE',
  'HF_DATASETS_CACHE',
  'HF_HUB_OFFLINE',
  'HF_DATASETS_OFFLINE',
  'TRANSFORMERS_OFFLINE',
  'HF_ENDPOINT',
  // Networks behind a proxy or a private CA.
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'SSL_CERT_FILE',
  'REQUESTS_CA_BUNDLE',
  // The docker client, when the workload is `docker run`.
  'DOCKER_HOST',
  'DOCKER_CONTEXT',
  'DOCKER_CONFIG',
  'DOCKER_CERT_PATH',
  'DOCKER_TLS_VERIFY',
];

/** Variables that hold credentials: never inherited, only passed through a secret env file. */
export const SECRET_ENV_KEYS: readonly string[] = ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN'];

export interface SubprocessEnvOptions {
  /** The host environment to pick from (default process.env). */
  base?: NodeJS.ProcessEnv;
  /** GPU indices: sets CUDA_VISIBLE_DEVICES. null/undefined leaves the host's value. */
  gpus?: readonly number[] | null;
  /** Extra host variables to inherit beyond the allow-list (never a secret). */
  passthrough?: readonly string[];
  /** Variables to set, applied last. */
  extra?: Readonly<Record<string, string>>;
}

/** Builds a workload environment: allow-listed host variables, GPU selection, then `extra`. */
export function buildSubprocessEnv(options: SubprocessEnvOptions = {}): Record<string, string> {
  const base = options.base ?? process.env;
  const allowed = new Set([...SUBPROCESS_ENV_ALLOWLIST, ...(options.passthrough ?? [])]);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    if (value === undefined || SECRET_ENV_KEYS.includes(key)) continue;
    if (allowed.has(key) || key.startsWith('LC_')) env[key] = value;
  }
  if (options.gpus) env.CUDA_VISIBLE_DEVICES = options.gpus.join(',');
  return { ...env, ...options.extra };
}

/** The secrets present in `base` (default process.env), for writeSecretEnvFile. */
export function pickSecretEnv(base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const key of SECRET_ENV_KEYS) {
    const value = base[key];
    if (value !== undefined && value !== '') secrets[key] = value;
  }
  return secrets;
}

/**
 * Writes `KEY=VALUE` lines (the `docker --env-file` format) to a new file created with mode 0600
 * (never world-readable, not even for an instant). Fails if the file exists. Delete it after the run.
 */
export async function writeSecretEnvFile(
  path: string,
  entries: Readonly<Record<string, string>>,
): Promise<void> {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(entries)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      throw new TypeError(`Invalid environment variable name ${JSON.stringify(key)}`);
    // The env-file format has no quoting: a newline would start a new variable.
    if (/[\r\n\0]/.test(value)) throw new TypeError(`The value of ${key} contains a newline or NUL byte`);
    lines.push(`${key}=${value}\n`);
  }
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(lines.join(''));
  } catch (error) {
    await unlink(path).catch(() => {});
    throw error;
  } finally {
    await handle.close();
  }
}
