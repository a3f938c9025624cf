/**
 * Fail points: named moments in llem's own code where a fault test can have the process SIGKILL
 * itself, so a crash lands exactly there (not only at random times). Off unless the environment
 * variable LLEM_FAILPOINTS is set, e.g. `LLEM_FAILPOINTS=result-committed@3` (kill at the third
 * time that point is reached; `@1` when omitted), or several separated by commas. The kill is a
 * real SIGKILL of the real process: nothing runs after it, exactly as when a user or the kernel
 * kills llem. `name@n:stop` sends SIGSTOP instead: the process freezes there until the test sends
 * SIGCONT, so the test can change the world (fill the disk, make it read-only) at that exact
 * moment and let llem meet the real failure. The points are listed in docs/reliability.md.
 */
export const FAILPOINTS = [
  /** The workload reported the end of its measurement window (it may still be running). */
  'window-ended',
  /** Energy is integrated; nothing of the result has been written yet. */
  'result-writing',
  /** The result directory is complete in the attempt's staging folder, not yet in place. */
  'result-staged',
  /** result.json is in place (committed); the state is not yet saved done. */
  'result-committed',
  /** The state is saved done; the attempt's scratch folder is not yet removed. */
  'state-done',
] as const;
export type FailpointName = (typeof FAILPOINTS)[number];

export const FAILPOINTS_ENV = 'LLEM_FAILPOINTS';

interface Armed {
  at: number;
  hits: number;
  signal: 'SIGKILL' | 'SIGSTOP';
}

let armed: Map<string, Armed> | null | undefined;

function parse(spec: string | undefined): Map<string, Armed> | null {
  if (!spec) return null;
  const map = new Map<string, Armed>();
  for (const part of spec.split(',')) {
    const [point, action] = part.trim().split(':');
    const [name, at] = (point ?? '').split('@');
    if (!name || !(FAILPOINTS as readonly string[]).includes(name)) continue;
    const n = at === undefined ? 1 : Number(at);
    if (Number.isInteger(n) && n >= 1)
      map.set(name, { at: n, hits: 0, signal: action === 'stop' ? 'SIGSTOP' : 'SIGKILL' });
  }
  return map.size > 0 ? map : null;
}

/** SIGKILLs (or SIGSTOPs) this process when `name` is armed and reached for the armed time. */
export function failpoint(name: FailpointName): void {
  if (armed === undefined) armed = parse(process.env[FAILPOINTS_ENV]);
  const point = armed?.get(name);
  if (!point) return;
  point.hits += 1;
  if (point.hits === point.at) process.kill(process.pid, point.signal);
}
