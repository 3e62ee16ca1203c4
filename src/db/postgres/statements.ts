import type pg from 'pg';

/** Runs one statement through the pool, bounded on the server (see `boundedStatements`). */
export interface Statements {
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

/** How statements are bounded on the server, as the start-up found it. */
export type StatementBound =
  /** The role's or database's own `statement_timeout` (at most the configured one) bounds every statement. */
  | { readonly by: 'server'; readonly serverMs: number }
  /** Each statement runs in a transaction of its own that starts with `SET LOCAL statement_timeout`. */
  | { readonly by: 'transaction'; readonly serverMs: number };

/**
 * Finds out whether the server already bounds this role's statements (the startup parameter `connectPool` offers,
 * `ALTER ROLE … SET statement_timeout`, or the database's or server's setting) within `configuredMs`. Asked through the pool, so through a pooler it is what each
 * server connection starts with: nothing a session sets survives transaction pooling, so nothing here sets one.
 */
export async function findStatementBound(pool: pg.Pool, configuredMs: number): Promise<StatementBound> {
  // pg_settings gives the value in milliseconds whatever unit it was set in.
  const { rows } = await pool.query<{ ms: number }>(`SELECT setting::integer AS ms FROM pg_settings WHERE name = 'statement_timeout'`);
  const serverMs = rows[0]?.ms ?? 0;
  return serverMs > 0 && serverMs <= configuredMs ? { by: 'server', serverMs } : { by: 'transaction', serverMs };
}

/**
 * The statements the storage runs, each bounded on the server by `timeoutMs` in a way that survives a transaction
 * pooler (PgBouncer in transaction mode, Supavisor, RDS Proxy): the startup parameter only where the server took it
 * (`connectPool`), never a session `SET`, never a named prepared statement (it belongs to one server connection, and a transaction pooler hands
 * each transaction to whichever is free).
 *
 * When the server bounds statements itself (`bound.by === 'server'`), a statement is one round trip, as before. Else
 * it runs as `BEGIN; SET LOCAL statement_timeout = …` / the statement / `COMMIT` on a checked-out connection: three
 * round trips, about twice the client CPU per statement (docs/performance.md), so the README recommends the role
 * setting.
 */
export function boundedStatements(pool: pg.Pool, bound: StatementBound, timeoutMs: number): Statements {
  if (bound.by === 'server') return { query: (config) => pool.query(config) };
  const begin = `BEGIN; SET LOCAL statement_timeout = ${Math.trunc(timeoutMs)}`;
  // A checked-out connection that fails between queries emits 'error'; unheard it would crash the process. The query
  // in progress fails too, which is what is reported.
  const ignore = () => {};
  return {
    async query<R extends pg.QueryResultRow>(config: pg.QueryConfig) {
      const client = await pool.connect();
      client.on('error', ignore);
      let broken = false;
      try {
        await client.query(begin);
        const result = await client.query<R>(config);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // A connection that cannot even roll back is not handed to the next caller.
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw error;
      } finally {
        client.off('error', ignore);
        client.release(broken);
      }
    },
  };
}
