import { access } from 'node:fs/promises';

/** Whether anything exists at `path` (any access error counts as "no"). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
