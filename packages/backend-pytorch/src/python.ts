import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BackendError, InterruptedError } from '@llem/core';
import { HARNESS_DIR } from './package-info.js';

export interface EnsurePythonOptions {
  /** Each progress line of the venv setup (stderr of provision.sh). */
  onProgress?: (line: string) => void;
  /** Host environment (default process.env): LLEM_PYTHON, LLEM_VENV_DIR, LLEM_BOOTSTRAP_PYTHON. */
  env?: NodeJS.ProcessEnv;
  /** The provisioning script (default harness/provision.sh). */
  provisionScript?: string;
  /**
   * Stops the setup: provision.sh and pip (its own process group) get SIGTERM, then SIGKILL after
   * a grace period; the half-made venv has no completion marker, so the next setup starts over.
   */
  signal?: AbortSignal;
}

/** Seconds between SIGTERM and SIGKILL when a setup is stopped. */
const STOP_GRACE_MS = 5_000;

const PYTHON_FIX =
  'Install Python 3.10+ with venv support (Debian/Ubuntu: apt install python3 python3-venv), ' +
  'or point LLEM_PYTHON at a python that has torch and transformers.';

/**
 * The python that runs the harness: $LLEM_PYTHON when set, else the harness venv, created on first
 * use by harness/provision.sh (torch + transformers; minutes the first time, a few milliseconds
 * afterwards: the script only checks the venv's marker). Used by `llem setup pytorch` and by local launches.
 */
export async function ensureHarnessPython(options: EnsurePythonOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  if (env.LLEM_PYTHON) return env.LLEM_PYTHON;
  return runProvision(options);
}

function runProvision(options: EnsurePythonOptions): Promise<string> {
  const script = options.provisionScript ?? join(HARNESS_DIR, 'provision.sh');
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(stoppedError());
    // Its own process group: a stop reaches pip and everything it started, not only bash.
    const child = spawn('bash', [script], {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stopped = false;
    let killTimer: NodeJS.Timeout | undefined;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // the group is gone already
      }
    };
    const stop = () => {
      stopped = true;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), STOP_GRACE_MS);
      killTimer.unref();
    };
    options.signal?.addEventListener('abort', stop, { once: true });
    const stderr: string[] = [];
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderr.push(line);
      if (stderr.length > 40) stderr.shift();
      options.onProgress?.(line);
    });
    child.on('error', (error) => {
      reject(
        new BackendError(`Cannot run the harness setup script ${script}: ${error.message}`, {
          fix: 'Install bash.',
          cause: error,
        }),
      );
    });
    child.on('close', (code) => {
      options.signal?.removeEventListener('abort', stop);
      if (killTimer) clearTimeout(killTimer);
      // Whatever of the group outlived bash (pip's own children) goes too.
      if (stopped) {
        signalGroup('SIGKILL');
        return reject(stoppedError());
      }
      const python = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && python) return resolve(python);
      reject(provisionError(code, stderr));
    });
  });
}

function stoppedError(): InterruptedError {
  return new InterruptedError(
    'The PyTorch harness setup was stopped: the venv is unfinished and is made again next time.',
  );
}

function provisionError(code: number | null, stderr: readonly string[]): BackendError {
  const text = stderr.join('\n');
  const tail = stderr.slice(-8).join('\n');
  if (code === 127 || /python3?[^\n]*(not found|No such file or directory)/i.test(text)) {
    return new BackendError(`Cannot create the PyTorch harness venv: no python3 found.\n${tail}`, {
      fix: PYTHON_FIX,
    });
  }
  if (/ensurepip is not available|No module named venv/i.test(text)) {
    return new BackendError(
      `Cannot create the PyTorch harness venv: python3 lacks the venv module.\n${tail}`,
      {
        fix: 'Debian/Ubuntu: apt install python3-venv (or set LLEM_PYTHON to a python with torch and transformers).',
      },
    );
  }
  return new BackendError(`Creating the PyTorch harness venv failed (exit ${code}).\n${tail}`, {
    fix: 'Check network access to PyPI (pip install torch transformers), or set LLEM_PYTHON to a ready python.',
  });
}
