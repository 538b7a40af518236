export * from './store.ts';
export { PostgresIncidentStore } from './postgres.ts';
export { migrate, migrations, type SqlRunner } from './migrate.ts';
