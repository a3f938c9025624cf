import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BackendError,
  type CollectContext,
  InterruptedError,
  messageOf,
  type WorkloadResult,
  WorkloadResultSchema,
} from '@llem/core';
import { classifyDockerFailure } from './docker/classify-failure.js';
import { containerName } from './docker/run-argv.js';
import { ERROR_FILE, RESULT_FILE } from './package-info.js';

/** The harness failed and said why (its error.json). */
export class HarnessFailedError extends BackendError {
  constructor(
    message: string,
    readonly kind: string,
    readonly traceback: string | null,
    fix: string,
  ) {
    super(message, { fix });
  }
}

/** Fixes for the harness's error kinds (harness/llem_harness/errors.py). */
const FIX_BY_KIND: Readonly<Record<string, string>> = {
  oom: 'Lower pytorch.batch_size, max_input_tokens or max_output_tokens, or use a lower precision or a smaller model.',
  'model-load':
    'Check the model id or path; gated models need HF_TOKEN exported; with HF_HUB_OFFLINE=1 only cached models load.',
  dataset: 'Check the dataset path and that each JSONL line has a prompt.',
  config: 'Fix the config field named above (llem config validate shows every problem).',
};
const DEFAULT_FIX = 'Read the harness error and log above; the run directory keeps the full log.';

interface HarnessErrorFile {
  message: string;
  kind: string;
  traceback: string | null;
}

export interface CollectOptions {
  image: string;
}

function tail(lines: readonly string[], count = 12): string {
  const kept = lines.slice(-count).filter((line) => line.trim() !== '');
  return kept.length > 0 ? `\n--- last lines of the workload's stderr ---\n${kept.join('\n')}` : '';
}

async function readJsonIfPresent(path: string): Promise<unknown | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BackendError(`Cannot read ${path}: ${messageOf(error)}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new BackendError(`${path} is not valid JSON (the harness was interrupted while writing it?).`, {
      fix: DEFAULT_FIX,
    });
  }
}

async function readHarnessError(workDir: string): Promise<HarnessErrorFile | undefined> {
  const path = join(workDir, ERROR_FILE);
  let raw: unknown;
  try {
    raw = await readJsonIfPresent(path);
  } catch {
    return undefined; // a torn error file must not hide the exit code and stderr
  }
  if (raw === undefined || raw === null || typeof raw !== 'object') return undefined;
  const record = raw as Record<string, unknown>;
  return {
    message: typeof record.message === 'string' ? record.message : JSON.stringify(raw),
    kind: typeof record.kind === 'string' ? record.kind : 'internal',
    traceback: typeof record.traceback === 'string' ? record.traceback : null,
  };
}

/** Reads and validates the workload result, or throws the most precise error available. */
export async function collectWorkloadResult(
  ctx: CollectContext,
  options: CollectOptions,
): Promise<WorkloadResult> {
  const { outcome, workDir } = ctx;
  if (outcome.kind === 'interrupted')
    throw new InterruptedError('Interrupted: the PyTorch workload was stopped.');

  if (outcome.kind === 'exited' && outcome.exitCode === 0) {
    const path = join(workDir, RESULT_FILE);
    const raw = await readJsonIfPresent(path);
    if (raw === undefined) {
      throw new BackendError(`The harness exited 0 but wrote no result at ${path}.${tail(ctx.stderrTail)}`, {
        fix: DEFAULT_FIX,
      });
    }
    const parsed = WorkloadResultSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .slice(0, 5)
        .map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`)
        .join('\n');
      throw new BackendError(`${path} does not match the workload result schema:\n${issues}`, {
        fix: 'The harness and this package are out of step: reinstall @llem/backend-pytorch (and rebuild its Docker image).',
      });
    }
    return parsed.data;
  }

  if (outcome.kind === 'timed-out') {
    throw new BackendError(
      `The PyTorch workload ran past its timeout (${Math.round(outcome.durationMs / 1000)} s) and was stopped.${tail(ctx.stderrTail)}`,
      {
        fix: 'Raise timeout_seconds, or lower n or max_output_tokens.',
      },
    );
  }

  const harnessError = await readHarnessError(workDir);
  if (harnessError) {
    throw new HarnessFailedError(
      `The PyTorch harness failed (${harnessError.kind}): ${harnessError.message}${tail(ctx.stderrTail, 6)}`,
      harnessError.kind,
      harnessError.traceback,
      FIX_BY_KIND[harnessError.kind] ?? DEFAULT_FIX,
    );
  }

  if (ctx.launch === 'docker') {
    const failure = classifyDockerFailure({
      exitCode: outcome.exitCode,
      stderr: ctx.stderrTail.join('\n'),
      image: options.image,
      containerName: containerName(ctx.experimentId),
    });
    if (failure) throw new BackendError(`${failure.message}${tail(ctx.stderrTail)}`, { fix: failure.fix });
  }

  const errorEvent = ctx.events.findLast((event) => event.event === 'error');
  const how =
    outcome.kind === 'signaled' ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`;
  const said = errorEvent && errorEvent.event === 'error' ? `: ${errorEvent.message}` : '';
  const fix =
    outcome.signal === 'SIGKILL'
      ? 'SIGKILL from outside usually means the kernel OOM killer (check dmesg): lower pytorch.batch_size or use a smaller model.'
      : DEFAULT_FIX;
  throw new BackendError(`The PyTorch workload ${how}${said}.${tail(ctx.stderrTail)}`, { fix });
}
