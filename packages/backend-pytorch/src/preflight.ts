import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildSubprocessEnv,
  type PreflightCheck,
  type PreflightContext,
  type PreflightRequest,
} from '@llem/core';
import type { PytorchConfig } from './config-schema.js';
import { runCommand } from './exec.js';
import { HARNESS_DIR } from './package-info.js';

/** Host variables the harness reads besides the subprocess allow-list (never secrets). */
export const HARNESS_PASSTHROUGH = ['LLEM_DATASET_DIR', 'LLEM_OFFLINE'] as const;

/** The probe imports torch (seconds on a cold disk) and may ask the Hub about a model (10 s each at most). */
const PROBE_TIMEOUT_MS = 180_000;

/** The python a preflight checks, and the setting that chose it (null: the harness venv). */
export interface PreflightPython {
  /** The interpreter, or null when it could not be found or made (then `problem` says why). */
  path: string | null;
  /** `LLEM_PYTHON`, `defaults.python in <file>`; null for the harness venv. */
  setting: string | null;
  problem?: PreflightCheck;
}

interface ProbeAnswer {
  python?: string;
  imports?: string | null;
  torch?: string;
  transformers?: string;
  models?: Record<
    string,
    { ok: boolean; where?: string; error?: string; offline?: boolean; unreachable?: boolean }
  >;
  aienergyscore?: { ok: boolean; path?: string; error?: string } | null;
  dataset_dir?: string;
}

const VENV_FIX =
  'Run `llem setup pytorch` (creates the harness venv), or set LLEM_PYTHON to a python with torch and transformers.';

/** A python the user named: it must exist and be executable (checked without running anything). */
export function userPythonProblem(path: string, setting: string): PreflightCheck | null {
  const fix = `Point ${setting} at a python that has torch and transformers, or unset it to use the harness venv (llem setup pytorch).`;
  if (!existsSync(path))
    return { name: 'python', status: 'fail', setting, detail: `${path} does not exist`, fix };
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
    accessSync(path, constants.X_OK);
  } catch {
    return { name: 'python', status: 'fail', setting, detail: `${path} is not an executable file`, fix };
  }
  return null;
}

/**
 * The pytorch backend's preflight: for each distinct python of the plan's local experiments one
 * `python -m llem_harness.preflight` probe (imports, every model, the AI Energy Score set); Docker
 * experiments run the image's python, so only Docker itself is checked for them (by llem).
 */
export async function pytorchPreflight(
  experiments: readonly PreflightRequest<PytorchConfig>[],
  ctx: PreflightContext,
  python: () => Promise<PreflightPython>,
): Promise<PreflightCheck[]> {
  const local = experiments.filter((e) => e.launch === 'local');
  if (local.length === 0) return [];
  const chosen = await python();
  if (!chosen.path) return chosen.problem ? [chosen.problem] : [];
  const pythonSetting = chosen.setting ?? 'the harness venv';
  const models = [...new Set(local.map((e) => e.config.model))];
  const aienergyscore = local.some((e) => e.config.dataset.source === 'aienergyscore');
  const probe = await runCommand(
    [chosen.path, '-m', 'llem_harness.preflight', JSON.stringify({ models, aienergyscore })],
    {
      timeoutMs: PROBE_TIMEOUT_MS,
      env: buildSubprocessEnv({
        base: ctx.env,
        passthrough: HARNESS_PASSTHROUGH,
        extra: { PYTHONPATH: HARNESS_DIR, PYTHONDONTWRITEBYTECODE: '1' },
      }),
    },
  );
  const answer = parseAnswer(probe.stdout);
  if (probe.code !== 0 || !answer) {
    const last =
      (probe.stderr.trim().split('\n').pop() ?? '').trim() || probe.failure || `exit ${probe.code}`;
    return [
      {
        name: 'python',
        status: 'fail',
        setting: pythonSetting,
        detail: `${chosen.path} cannot run the harness: ${last}`,
        fix: chosen.setting
          ? `Point ${chosen.setting} at a python 3.10+ with torch and transformers.`
          : VENV_FIX,
      },
    ];
  }
  if (answer.imports) {
    return [
      {
        name: 'python imports',
        status: 'fail',
        setting: pythonSetting,
        detail: `${chosen.path} cannot import torch and transformers: ${answer.imports}`,
        fix: chosen.setting
          ? `Install them into that python (pip install torch transformers), or point ${chosen.setting} at one that has them.`
          : 'Recreate the venv: llem setup pytorch',
      },
    ];
  }
  const checks: PreflightCheck[] = [
    {
      name: 'python',
      status: 'ok',
      detail: `${chosen.path} (python ${answer.python}, torch ${answer.torch}, transformers ${answer.transformers})`,
    },
  ];
  for (const model of models) {
    const found = answer.models?.[model];
    if (found?.ok) {
      checks.push({ name: 'model', status: 'ok', detail: `${model}: ${found.where}` });
      continue;
    }
    const fix = found?.offline
      ? `Download it while online (huggingface-cli download ${model}), point model at a local directory, or unset HF_HUB_OFFLINE.`
      : found?.unreachable
        ? `Connect to the network, or download it elsewhere and copy it into the Hugging Face cache (HF_HOME), or point model at a local directory.`
        : 'Check the name (an HF model id such as openai-community/gpt2, a local directory with config.json, or builtin:tiny-gpt2).';
    checks.push({
      name: 'model',
      status: 'fail',
      setting: ctx.fieldSetting('model'),
      detail: found?.error ?? `${model} was not checked`,
      fix,
    });
  }
  if (answer.dataset_dir) {
    checks.push({
      name: 'dataset dir',
      status: 'fail',
      setting: 'LLEM_DATASET_DIR',
      detail: answer.dataset_dir,
      fix: 'Point LLEM_DATASET_DIR at a folder that holds aienergyscore.jsonl, or unset it to use the copy llem ships.',
    });
  }
  if (answer.aienergyscore) {
    checks.push(
      answer.aienergyscore.ok
        ? { name: 'dataset', status: 'ok', detail: `aienergyscore: ${answer.aienergyscore.path}` }
        : {
            name: 'dataset',
            status: 'fail',
            setting: ctx.fieldSetting('dataset'),
            detail: answer.aienergyscore.error ?? 'aienergyscore was not found',
            fix: 'Reinstall llem (it ships the AI Energy Score prompts), or set LLEM_DATASET_DIR to a folder with aienergyscore.jsonl.',
          },
    );
  }
  return checks;
}

function parseAnswer(stdout: string): ProbeAnswer | null {
  const last = stdout.trim().split('\n').pop();
  if (!last) return null;
  try {
    const value = JSON.parse(last) as unknown;
    return value && typeof value === 'object' ? (value as ProbeAnswer) : null;
  } catch {
    return null;
  }
}

/** The harness venv's python is finished once provision.sh wrote its marker. */
export function venvComplete(python: string): boolean {
  return existsSync(join(python, '..', '..', '.llem-complete'));
}
