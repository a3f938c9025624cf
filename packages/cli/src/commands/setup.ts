import { ConfigError, didYouMean } from '@llem/core';
import { INTERRUPT_SIGNALS, releaseEarlySignalHandlers } from '../early-signals.js';
import type { Output } from '../output.js';
import { resolveSettings } from '../settings.js';

const SETUPS = ['pytorch'] as const;

/** `llem setup pytorch`: creates the harness venv (torch + transformers) once, showing progress. */
export async function setupCommand(backend: string, out: Output): Promise<number> {
  if (!(SETUPS as readonly string[]).includes(backend)) {
    const hint = didYouMean(backend, SETUPS);
    throw new ConfigError(
      `llem setup: unknown backend '${backend}'${hint ? ` (did you mean '${hint}'?)` : ''}.`,
      {
        fix: `Available: ${SETUPS.join(', ')}.`,
      },
    );
  }
  const { ensureHarnessPython } = await import('@llem/backend-pytorch');
  // Ctrl+C, SIGTERM, SIGHUP: provision.sh and pip are stopped (their process group), then exit 130.
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stop.signal.aborted) out.info(`\nReceived ${signal}: stopping the setup (pip and provision.sh)...`);
    stop.abort();
  };
  for (const signal of INTERRUPT_SIGNALS) process.on(signal, onSignal);
  releaseEarlySignalHandlers();
  try {
    return await provision(backend, out, ensureHarnessPython, stop.signal);
  } finally {
    for (const signal of INTERRUPT_SIGNALS) process.off(signal, onSignal);
  }
}

async function provision(
  backend: string,
  out: Output,
  ensureHarnessPython: typeof import('@llem/backend-pytorch').ensureHarnessPython,
  signal: AbortSignal,
): Promise<number> {
  const started = Date.now();
  if (!out.json)
    out.info(
      'Setting up the PyTorch harness environment (the first time downloads torch + transformers: a few minutes)...',
    );
  // An explicit python (LLEM_PYTHON or the user config's defaults.python) is used as is.
  const explicit = resolveSettings().python.value;
  const python = await ensureHarnessPython({
    ...(explicit ? { env: { ...process.env, LLEM_PYTHON: explicit } } : {}),
    onProgress: (line) => (out.json ? out.record({ type: 'progress', line }) : out.info(`  ${line}`)),
    signal,
  });
  const seconds = (Date.now() - started) / 1000;
  if (out.json) out.record({ type: 'setup', backend, python, seconds });
  else {
    out.line(`PyTorch harness ready: ${python} (${seconds.toFixed(1)} s)`);
    if (process.env.LLEM_PYTHON)
      out.info('note: LLEM_PYTHON is set, so that python is used as is (nothing was installed).');
  }
  return 0;
}
