import { ConfigError, type StateStore } from '@llem/core';

/**
 * Which stores may be shared by the submit host and every compute node. The fs store writes each
 * record to a temp file and renames it over the old one (atomic on NFS, Lustre, GPFS, BeeGFS);
 * SQLite relies on POSIX byte-range locks that NFS does not implement reliably, so a database on
 * a shared filesystem can be corrupted. A third-party store opts in with `sharedFilesystemSafe`.
 */
export const SHARED_FILESYSTEM_SAFE_STORES: readonly string[] = ['fs'];

export function isSharedFilesystemSafe(name: string, store?: StateStore): boolean {
  if ((store as { sharedFilesystemSafe?: unknown } | undefined)?.sharedFilesystemSafe === true) return true;
  return SHARED_FILESYSTEM_SAFE_STORES.includes(name);
}

/** Refuses a store that compute nodes could corrupt, before anything is submitted. */
export function assertSharedFilesystemSafe(name: string, store?: StateStore): void {
  if (isSharedFilesystemSafe(name, store)) return;
  throw new ConfigError(
    `The ${name} store cannot be used with the slurm executor: every compute node writes the study's state, ` +
      `and ${name === 'sqlite' ? 'SQLite locking is not safe on NFS or other shared filesystems' : `the ${name} store does not declare itself safe on a shared filesystem`}.`,
    {
      fix: 'Use --store fs with --state-dir on a filesystem every node mounts (see docs/slurm.md).',
    },
  );
}
