import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '@llem/cli';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoStudy, filesUnder, llem, repoRoot, sandbox } from './llem.js';
import { type Mutant, mutantArb } from './mutations.js';

/**
 * Bad input: fast-check generates mutated experiment and study files (5,000 in all). Each ends in
 * exit 2 with ONE error line, `error: <file or field>: <what is wrong>`, optionally followed by ONE
 * `fix: <hint>` line, on stderr; nothing on stdout; no stack trace; and the state store and results
 * directory are byte-identical afterwards. Most run in-process through the CLI's `main` (fast);
 * a seeded sample runs through the real binary.
 */

const IN_PROCESS_RUNS = 4950;
const BINARY_RUNS = 50;
const CASE_FILE = 'fuzz-case.yaml';

function snapshot(dirs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const dir of dirs)
    for (const file of filesUnder(dir)) {
      try {
        out[join(dir, file)] = createHash('sha256')
          .update(readFileSync(join(dir, file)))
          .digest('hex');
      } catch {
        out[join(dir, file)] = 'directory';
      }
    }
  return out;
}

/** The one-line error contract. Returns a description of the violation, or null. */
function violation(mutant: Mutant, code: number | null, stdout: string, stderr: string): string | null {
  const lines = stderr.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const problems: string[] = [];
  if (code !== 2) problems.push(`exit ${code}, expected 2`);
  if (stdout !== '') problems.push('stdout is not empty');
  if (lines.length < 1 || lines.length > 2) problems.push(`${lines.length} stderr lines, expected 1 (+ fix)`);
  if (!lines[0]?.startsWith('error: ')) problems.push('first line does not start with "error: "');
  if (lines[1] !== undefined && !lines[1].startsWith('fix: ')) problems.push('second line is not "fix: ..."');
  if (!mutant.expect.some((e) => lines[0]?.includes(e)))
    problems.push(`error line names none of ${JSON.stringify(mutant.expect)}`);
  if (!lines[0]?.includes(CASE_FILE)) problems.push(`error line does not name the file ${CASE_FILE}`);
  if (/^\s+at |--verbose/m.test(stderr)) problems.push('stack trace or crash hint');
  return problems.length
    ? `${mutant.kind} (${mutant.base}): ${problems.join('; ')}\n--- stderr (first 600 chars):\n${stderr.slice(0, 600)}`
    : null;
}

async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'llem', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
}

describe('bad input', () => {
  const box = sandbox('sqlite');
  const casePath = join(box.dir, 'cases', CASE_FILE);
  let before: Record<string, string>;
  const savedEnv = { ...process.env };
  afterAll(() => {
    process.env = savedEnv;
    box.remove();
  });

  beforeAll(async () => {
    mkdirSync(join(box.dir, 'cases'));
    // A store and results directory with real content, which no bad file may touch.
    const seeded = await llem(['run', box.write('seed.yaml', echoStudy('seed', 2)), '--json'], box.env);
    expect(seeded.code, seeded.stderr).toBe(0);
    before = snapshot([box.stateDir, box.resultsDir]);
    expect(Object.keys(before).length).toBeGreaterThan(3);
  });

  it(`${IN_PROCESS_RUNS} mutated files in-process: exit 2, one error line naming the field, store unchanged`, async () => {
    process.env = {
      ...box.env,
      LLEM_PLUGINS: join(repoRoot, 'examples/plugin-echo/dist/index.js'),
    };
    const kinds: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(mutantArb, async (mutant) => {
        kinds[mutant.kind] = (kinds[mutant.kind] ?? 0) + 1;
        writeFileSync(casePath, mutant.bytes);
        const r = await inProcess(['run', casePath]);
        const problem = violation(mutant, r.code, r.stdout, r.stderr);
        if (problem) throw new Error(problem);
      }),
      { numRuns: IN_PROCESS_RUNS, seed: 42, endOnFailure: true },
    );
    process.env = savedEnv;
    expect(Object.keys(kinds).sort()).toEqual([
      'alias-bomb',
      'broken-yaml',
      'deep-nesting',
      'huge-string',
      'invalid-utf8',
      'out-of-range',
      'unknown-key',
      'wrong-type',
    ]);
    expect(snapshot([box.stateDir, box.resultsDir])).toEqual(before);
  });

  it(`${BINARY_RUNS} of them through the real binary: the same contract`, async () => {
    const mutants = fc.sample(mutantArb, { numRuns: BINARY_RUNS, seed: 4242 });
    const problems: string[] = [];
    for (const [i, mutant] of mutants.entries()) {
      const dir = join(box.dir, 'cases', String(i));
      mkdirSync(dir);
      writeFileSync(join(dir, CASE_FILE), mutant.bytes);
    }
    // Two at a time: the machine is small.
    for (let i = 0; i < mutants.length; i += 2) {
      const batch = mutants.slice(i, i + 2).map(async (mutant, j) => {
        const r = await llem(['run', join(box.dir, 'cases', String(i + j), CASE_FILE)], box.env);
        const problem = violation(mutant, r.code, r.stdout, r.stderr);
        if (problem) problems.push(problem);
      });
      await Promise.all(batch);
    }
    expect(problems).toEqual([]);
    expect(snapshot([box.stateDir, box.resultsDir])).toEqual(before);
  });
});
