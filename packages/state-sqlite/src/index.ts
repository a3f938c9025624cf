export { LATEST_SCHEMA_VERSION, MIGRATIONS, migrate } from './migrations.js';
export { default } from './plugin.js';
export {
  createSqliteStateStore,
  DEFAULT_DB_NAME,
  SqliteStateStore,
  type SqliteStateStoreOptions,
} from './sqlite-state-store.js';
