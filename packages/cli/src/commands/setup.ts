import { ConfigError, didYouMean } from '@llem/core';
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
