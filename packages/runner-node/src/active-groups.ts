import { spawnSync } from 'node:child_process';

interface ActiveGroup {
  pgid: number;
  force?: readonly string[] | undefined;
  env: Readonly<Record<string, string>>;
}

/** Process groups of runs in progress in this process, for a last-resort synchronous kill. */
const active = new Map<number, ActiveGroup>();

export function registerGroup(group: ActiveGroup): void {
  active.set(group.pgid, group);
}

export function unregisterGroup(pgid: number): void {
  active.delete(pgid);
}

/** Sends `signal` to a whole process group; false when the group is already gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  // kill(-0) or kill(-1) would hit llem's own group or every process we may signal.
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Kills every running workload at once (SIGKILL to each group, then its force stop command,
 * e.g. `docker kill`), synchronously, so it can run right before `process.exit`. Returns the
 * number of groups it killed. Used by the second Ctrl+C.
 */
export function killAllRunningGroups(forceCommandTimeoutMs = 10_000): number {
  let killed = 0;
  for (const group of active.values()) {
    if (signalGroup(group.pgid, 'SIGKILL')) killed++;
    const [command, ...args] = group.force ?? [];
    if (command)
      spawnSync(command, args, { env: group.env, stdio: 'ignore', timeout: forceCommandTimeoutMs });
  }
  active.clear();
  return killed;
}
