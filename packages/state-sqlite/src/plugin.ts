import { join } from 'node:path';
import { definePlugin } from '@llem/core';
import { createSqliteStateStore, DEFAULT_DB_NAME } from './sqlite-state-store.js';

/** `--store sqlite` (the default): one database file in the state directory. */
export default definePlugin({
  kind: 'store',
  name: 'sqlite',
  create: (options) =>
    createSqliteStateStore(options?.dir ? { path: join(options.dir, DEFAULT_DB_NAME) } : {}),
});
