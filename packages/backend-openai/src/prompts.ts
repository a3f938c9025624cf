import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { BackendError, ConfigError, type ExperimentConfig } from '@llem/core';
import { seededRandom } from '@llem/loadgen';

/**
 * The prompts of a serving run, from the experiment's `dataset` as the PyTorch harness reads it
 * (same fields, same orders): a JSONL file, the AI Energy Score set from the local dataset folder,
 * or synthetic prompts. Read on the host before launch; the load generator sends them round-robin.
 */

const PROMPT_KEYS = ['prompt', 'text', 'instruction', 'input', 'question'] as const;
const AIENERGYSCORE_FILE = 'aienergyscore.jsonl';
const SYNTHETIC_WORDS = ['Hello', 'world', 'the', 'a', 'is', 'it', 'this', 'that', 'with', 'for'];

interface PromptRecord {
  text: string;
  source: string | null;
}

function readJsonl(path: string, field: string): PromptRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `${field}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        fix: 'Give an existing .jsonl file (absolute, or relative to where llem runs).',
      },
    );
  }
  const records: PromptRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new ConfigError(`${path}:${i + 1}: not valid JSON`, {
        fix: 'Each line is one object like {"prompt": "..."}.',
      });
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
      throw new ConfigError(`${path}:${i + 1}: each line must be a JSON object like {"prompt": "..."}`);
    const record = obj as Record<string, unknown>;
    const keys = Object.keys(record);
    if (keys.length > 0 && keys.every((k) => k.startsWith('_'))) return;
    const found = PROMPT_KEYS.map((k) => record[k]).find((v) => typeof v === 'string' && v.trim());
    if (typeof found !== 'string')
      throw new ConfigError(`${path}:${i + 1}: no non-empty prompt field (one of ${PROMPT_KEYS.join(', ')})`);
    records.push({ text: found.trim(), source: typeof record.source === 'string' ? record.source : null });
  });
  if (records.length === 0) throw new ConfigError(`${field}: ${path} holds no prompt`);
  return records;
}

function datasetDirs(env: NodeJS.ProcessEnv): string[] {
  const dirs: string[] = [];
  if (env.LLEM_DATASET_DIR) dirs.push(env.LLEM_DATASET_DIR);
  dirs.push(join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'llem', 'datasets'));
  return dirs;
}

function order(records: PromptRecord[], n: number, how: string, seed: number): PromptRecord[] {
  if (how === 'shuffled') {
    const rand = seededRandom(seed);
    const copy = [...records];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, n);
  }
  const groups = new Map<string | null, PromptRecord[]>();
  for (const r of records) groups.set(r.source, [...(groups.get(r.source) ?? []), r]);
  if (how === 'grouped') return [...groups.values()].flat().slice(0, n);
  const queues = [...groups.values()].map((g) => [...g]);
  const out: PromptRecord[] = [];
  for (let i = 0; out.length < Math.min(n, records.length); i++) {
    const next = queues[i % queues.length]!.shift();
    if (next) out.push(next);
  }
  return out;
}

/** Up to `n` prompts (fewer when the dataset has fewer: they are sent round-robin). */
export function loadPrompts(
  config: ExperimentConfig,
  n: number,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const dataset = config.dataset;
  if (dataset.source === 'synthetic') {
    const rand = seededRandom(config.random_seed);
    // Words, not tokens: the client has no tokenizer (input_len words is about input_len tokens).
    return Array.from({ length: n }, () =>
      Array.from(
        { length: dataset.input_len },
        () => SYNTHETIC_WORDS[Math.floor(rand() * SYNTHETIC_WORDS.length)],
      ).join(' '),
    );
  }
  let records: PromptRecord[];
  if (dataset.source === 'jsonl') records = readJsonl(resolve(dataset.path), 'dataset.path');
  else {
    const dirs = datasetDirs(env);
    const found = dirs.map((d) => join(d, AIENERGYSCORE_FILE)).find((p) => existsSync(p));
    if (!found)
      throw new BackendError(
        `dataset aienergyscore not found (looked in ${dirs.map((d) => join(d, AIENERGYSCORE_FILE)).join(', ')})`,
        {
          fix: 'Run one pytorch experiment with dataset: aienergyscore (it fetches the file), copy aienergyscore.jsonl into one of those folders, or use dataset: prompts.jsonl / synthetic.',
        },
      );
    records = readJsonl(found, 'dataset');
  }
  return order(records, n, config.dataset_order, config.random_seed).map((r) => r.text);
}
