import { createSandbox, type Sandbox } from '@llem/test-kit';

/** The CLI tests' sandbox: the shared one, plus the real cache dir (the harness venv lives there) and offline HF. */
export {
  binPath,
  filesUnder,
  finished,
  jsonLines,
  type LlemResult,
  llem,
  processesMentioning,
  repoRoot,
  type Sandbox,
  startLlem,
} from '@llem/test-kit';

export function sandbox(python?: string): Sandbox {
  return createSandbox('llem-cli-', {
    // The harness venv lives in the real cache: it is provisioned once per machine.
    XDG_CACHE_HOME: process.env.XDG_CACHE_HOME ?? `${process.env.HOME}/.cache`,
    HF_HUB_OFFLINE: '1',
    LLEM_OFFLINE: '1',
    ...(python ? { LLEM_PYTHON: python } : {}),
  });
}

/** A fast two-experiment study (a temperature sweep) of the tiny GPT-2: no energy, no warm-up. */
export const tinyStudy = (name: string, extra = '') => `name: ${name}
model: builtin:tiny-gpt2
launch: local
precision: fp32
n: 2
max_output_tokens: 4
baseline: {enabled: false}
warmup: {enabled: false}
energy: {enabled: false}
sweep:
  decoder.temperature: [0.5, 1.0]
${extra}`;
