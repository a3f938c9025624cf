import { mkdir, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDirectory, isTempFileName, pathExists } from '@llem/core';

/**
 * Config hash -> experiment ids, as empty marker files `<root>/<hash>/<id>`. The index is a
 * superset of the truth: a marker is made durable before the record that needs it is written,
 * and removed only after the record stopped needing it. Readers verify each candidate record,
 * so a crash at any moment can leave an extra marker (one wasted read) but never a missing one.
 */
export class HashIndex {
  constructor(
    private readonly root: string,
    /** fsync new markers (default true); off only where the records are not synced either. */
    private readonly durable = true,
  ) {}

  async add(hash: string, id: string): Promise<void> {
    const bucket = join(this.root, hash);
    const marker = join(bucket, id);
    if (await pathExists(marker)) return;
    const created = await mkdir(bucket, { recursive: true });
    await writeFile(marker, '');
    if (!this.durable) return;
    await fsyncDirectory(bucket);
    if (created !== undefined) await fsyncDirectory(this.root);
  }

  async remove(hash: string, id: string): Promise<void> {
    await unlink(join(this.root, hash, id)).catch(() => {});
  }

  /** Ids that may have this hash; the caller checks each record. */
  async candidates(hash: string): Promise<string[]> {
    try {
      return (await readdir(join(this.root, hash))).filter((name) => !isTempFileName(name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }
}
