import type pg from 'pg';
import { migrations as shipped, type Migration } from './migrations.js';

/**
 * Applies the migrations the connection's schema has not seen yet; returns the versions applied. Each runs in its own
 * transaction, after taking a transaction-scoped advisory lock on the schema (`pg_advisory_xact_lock`): replicas
 * starting together take turns, and each reads the applied versions under the lock, so none applies a migration
 * another has just applied. A failing migration rolls back whole, and the error names it.
 */
export async function migrate(pool: pg.Pool, migrations: readonly Migration[] = shipped): Promise<number[]> {
  const client = await pool.connect();
  // A checked-out client that loses its connection between queries emits 'error': without a listener it would crash
  // the process; the next query fails instead, which is what is reported.
  const ignore = () => {};
  client.on('error', ignore);
  const applied: number[] = [];
  let failed = false;
  try {
    for (;;) {
      await client.query('BEGIN');
      let migration: Migration | undefined;
      try {
        await client.query(`SELECT pg_advisory_xact_lock(hashtext('notes-api migrations ' || coalesce(current_schema(), '')))`);
        await client.query(`
          CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer     PRIMARY KEY,
            name       text        NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
          )`);
        const { rows } = await client.query<{ current: number }>('SELECT coalesce(max(version), 0)::integer AS current FROM schema_migrations');
        migration = migrations.find((candidate) => candidate.version > rows[0]!.current);
        if (migration) {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
        }
        await client.query('COMMIT');
      } catch (error) {
        failed = true;
        await client.query('ROLLBACK').catch(ignore);
        const which = migration ? `migration ${migration.version} (${migration.name})` : 'migrations';
        throw new Error(`PostgreSQL ${which} failed and was rolled back: ${(error as Error).message}`, { cause: error });
      }
      if (!migration) return applied;
      applied.push(migration.version);
    }
  } finally {
    client.off('error', ignore);
    // After a failure the connection may be broken: it is closed rather than handed to the next caller.
    client.release(failed);
  }
}
