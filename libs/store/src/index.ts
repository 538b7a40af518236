export * from './store.ts';
export * from './database.ts';
export { PgDatabase } from './pg-database.ts';
export { PgliteDatabase } from './pglite-database.ts';
export { SqlIncidentStore } from './incident-store.ts';
export { migrate, migrations } from './migrate.ts';
export { OFFLINE_QUERY, offlineIncidentId } from './camera-status.ts';
