import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { echoStudy, llem, sandbox, summaryOf } from './llem.js';

/** Plugins by name through the real CLI: the echo backend as a package, a store from LLEM_PLUGINS. */

const journalStore = fileURLToPath(new URL('./fixtures/llem-store-journal.mjs', import.meta.url));

describe('third-party plugins through llem', () => {
  const box = sandbox('fs');
  afterAll(() => box.remove());
  const study = box.write('study.yaml', echoStudy('plugins', 2));

  it('runs a study on a store named by --store and found through LLEM_PLUGINS', async () => {
    const r = await llem(['run', study, '--store', 'journal', '--json'], {
      ...box.env,
      LLEM_PLUGINS: journalStore,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r.stdout).counts).toMatchObject({ total: 2, done: 2 });
    const journal = readFileSync(join(box.stateDir, 'journal.log'), 'utf8').trim().split('\n');
    expect(journal.filter((line) => line.endsWith(' done'))).toHaveLength(2);
  });

  it('an unknown store name is exit 2 naming the setting and what was tried', async () => {
    const r = await llem(['status', '--store', 'nosuch'], box.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: --store: 'nosuch' is not one of sqlite, fs, nor an installed store plugin\. .*llem-store-nosuch/,
    );
  });
});
