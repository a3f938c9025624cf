/**
 * Who a process belongs to, read from /proc while it runs: its ancestors (ppid chain), its process
 * group and its session. A GPU process is the workload's when any of these is a workload pid: a
 * child the workload forked is a descendant, and one re-parented to init after its parent exited
 * still carries the workload's process group (the Runner starts the workload as a group leader).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const MAX_DEPTH = 64;

interface Stat {
  ppid: number;
  pgrp: number;
  session: number;
}

/** Fields 4-6 of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses. */
export function parsePidStat(text: string): Stat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).split(' ');
  const [ppid, pgrp, session] = [fields[1], fields[2], fields[3]].map(Number);
  if (![ppid, pgrp, session].every((n) => Number.isInteger(n))) return null;
  return { ppid: ppid as number, pgrp: pgrp as number, session: session as number };
}

function readStat(procRoot: string, pid: number): Stat | null {
  try {
    return parsePidStat(readFileSync(join(procRoot, String(pid), 'stat'), 'utf8'));
  } catch {
    return null; // gone, or in a pid namespace this /proc does not show
  }
}

/**
 * The pid itself, its ancestors up to init, and the process groups and sessions along the way.
 * Only `[pid]` when /proc does not show it (exited, or another pid namespace): ownership unknown.
 */
export function relatedPids(pid: number, procRoot = '/proc'): { pids: number[]; visible: boolean } {
  const out = new Set<number>([pid]);
  const own = readStat(procRoot, pid);
  if (!own) return { pids: [pid], visible: false };
  out.add(own.pgrp);
  out.add(own.session);
  const walked = new Set<number>([pid]);
  let parent = own.ppid;
  for (let depth = 0; depth < MAX_DEPTH && parent > 1 && !walked.has(parent); depth++) {
    walked.add(parent);
    out.add(parent);
    parent = readStat(procRoot, parent)?.ppid ?? 0;
  }
  out.delete(0);
  return { pids: [...out], visible: true };
}
