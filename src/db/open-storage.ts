import type { Config } from '../config.js';
import type { ReadinessCheck } from '../readiness.js';
import type { NotesStorage } from '../notes/notes.storage.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { parseDatabaseUrl, redactDatabaseUrl } from '../database-url.js';
import { migrate } from './postgres/migrate.js';
import { postgresNotesStorage } from './postgres/notes.storage.js';
import { connectPool, postgresCheck } from './postgres/pool.js';
import { boundedStatements, findStatementBound, type StatementBound } from './postgres/statements.js';
import { openDatabase, sqliteCheck } from './sqlite/open.js';
import { sqliteNotesStorage } from './sqlite/notes.storage.js';

/**
 * The storage the API runs on, whichever engine `DATABASE_URL` names: opened once by `openStorage` in main.ts, passed
 * to `createApp`, closed at shutdown. The service and routes see only `notes`.
 */
export interface Storage {
  readonly notes: NotesStorage;
  /** What `/readyz` checks of it (`database`). */
  readonly readiness: readonly ReadinessCheck[];
  close(): Promise<void>;
}

export type StorageSettings = Pick<
  Config,
  'DATABASE_URL' | 'DATABASE_POOL_SIZE' | 'DATABASE_CONNECT_TIMEOUT_MS' | 'DATABASE_STATEMENT_TIMEOUT_MS' | 'DATABASE_CA_FILE'
>;

/**
 * Opens the storage `DATABASE_URL` names and brings its schema up to date: SQLite in-process, or a pool of
 * PostgreSQL connections whose migrations run under an advisory lock. Rejects (with the URL's password redacted)
 * when the database cannot be opened or migrated.
 */
export async function openStorage(config: StorageSettings, deps: { logger: Logger; metrics: Metrics }): Promise<Storage> {
  const target = parseDatabaseUrl(config.DATABASE_URL);
  if (target.kind === 'sqlite') {
    const db = openDatabase(target.path);
    return {
      notes: sqliteNotesStorage(db, deps.metrics.dbQueryDuration),
      readiness: [sqliteCheck(db)],
      close: async () => void db.close(),
    };
  }

  const where = redactDatabaseUrl(target.url);
  const pool = await connectPool({
    url: target.url,
    size: config.DATABASE_POOL_SIZE,
    connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    caFile: config.DATABASE_CA_FILE,
  }).catch((error: unknown) => {
    throw new Error(`Cannot open PostgreSQL at ${where}: ${(error as Error).message}`, { cause: error });
  });
  // An idle connection the server drops (a restart, a failover) is reported here; unheard, it would crash the
  // process. The pool has already discarded it and opens a new one when needed.
  pool.on('error', (error: Error & { code?: string }) => {
    deps.logger.warn({ err: { message: error.message, code: error.code }, database: where }, 'PostgreSQL closed an idle connection');
  });
  let bound: StatementBound;
  try {
    const applied = await migrate(pool);
    deps.logger.info({ database: where, migrations_applied: applied }, 'notes are kept in PostgreSQL');
    bound = await findStatementBound(pool, config.DATABASE_STATEMENT_TIMEOUT_MS);
  } catch (error) {
    await pool.end().catch(() => {});
    throw new Error(`Cannot open PostgreSQL at ${where}: ${(error as Error).message}`, { cause: error });
  }
  const timeoutMs = config.DATABASE_STATEMENT_TIMEOUT_MS;
  if (bound.by === 'server') {
    deps.logger.info({ statement_timeout_ms: bound.serverMs }, `statements are bounded by the server's statement_timeout (${bound.serverMs} ms)`);
  } else {
    deps.logger.info(
      { statement_timeout_ms: timeoutMs, server_statement_timeout_ms: bound.serverMs },
      `statements run in transactions of their own with SET LOCAL statement_timeout = ${timeoutMs}: the server's is ` +
        `${bound.serverMs === 0 ? 'unbounded' : `${bound.serverMs} ms`}; ALTER ROLE … SET statement_timeout = '${timeoutMs}ms' saves two round trips per statement (see README)`,
    );
  }
  deps.metrics.watchDatabasePool(pool);
  return {
    notes: postgresNotesStorage(boundedStatements(pool, bound, timeoutMs), deps.metrics.dbQueryDuration),
    readiness: [postgresCheck(pool, Math.min(config.DATABASE_CONNECT_TIMEOUT_MS, 2000))],
    close: () => pool.end(),
  };
}

