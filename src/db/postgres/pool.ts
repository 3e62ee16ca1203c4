import fs from 'node:fs';
import pg from 'pg';
import { StorageUnavailableError } from '../../errors.js';
import { readyWithin, type ReadinessCheck } from '../../readiness.js';

export interface PoolSettings {
  url: string;
  size: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  /** A PEM file of CAs; sets `sslrootcert` (and `sslmode=verify-full` when the URL names no `sslmode`). */
  caFile?: string | undefined;
}

/**
 * The process's one pool of PostgreSQL connections (node-postgres). Every wait is bounded: opening a connection or
 * waiting for a free one (`connectionTimeoutMillis`), and the answer on the client (`query_timeout`, a second after
 * the statement timeout, for a server that stopped answering altogether). With `timeoutOnConnect`, every connection
 * also starts with the statement timeout on the server (a startup parameter: one round trip per statement, as a
 * direct connection allows); transaction poolers refuse that parameter (`refusesStartupParameter`), and without it
 * statements are bounded as statements.ts says. Otherwise only startup parameters every pooler passes on are sent
 * (`application_name`).
 */
function createPool(settings: PoolSettings & { timeoutOnConnect: boolean }): pg.Pool {
  return new pg.Pool({
    connectionString: withCaFile(settings.url, settings.caFile),
    max: settings.size,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    ...(settings.timeoutOnConnect ? { statement_timeout: settings.statementTimeoutMs } : {}),
    query_timeout: settings.statementTimeoutMs + 1000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'notes-api',
  });
}

/**
 * The pool, its connections starting with the statement timeout when the server takes it as a startup parameter
 * (PostgreSQL itself: each statement is then one round trip, bounded on the server). A transaction pooler refuses
 * that parameter at the first connection: the pool is then opened without it, and statements are bounded as
 * statements.ts says. Any other failure to connect rejects; settings that cannot work throw.
 */
export function connectPool(settings: PoolSettings): Promise<pg.Pool> {
  // Settings that cannot work (an unreadable CA file) throw here, at once, before any connection is tried.
  const direct = createPool({ ...settings, timeoutOnConnect: true });
  return direct.query('SELECT 1').then(
    () => direct,
    async (error: unknown) => {
      await direct.end().catch(() => {});
      if (!refusesStartupParameter(error)) throw error;
      return createPool({ ...settings, timeoutOnConnect: false });
    },
  );
}

// node-postgres lets the connection string's TLS settings override the `ssl` option, so the CA file goes into the
// URL, where it reads `sslrootcert` itself.
function withCaFile(url: string, caFile: string | undefined): string {
  if (!caFile) return url;
  try {
    fs.accessSync(caFile, fs.constants.R_OK);
  } catch {
    throw new Error(`DATABASE_CA_FILE ${caFile} cannot be read`);
  }
  const parsed = new URL(url);
  parsed.searchParams.set('sslrootcert', caFile);
  if (!parsed.searchParams.has('sslmode')) parsed.searchParams.set('sslmode', 'verify-full');
  return parsed.toString();
}

/** Whether a connection failed because a transaction pooler refuses a startup parameter (PgBouncer's wording). */
export function refusesStartupParameter(error: unknown): boolean {
  return /unsupported startup parameter/i.test((error as Error | null)?.message ?? '');
}

/**
 * Whether a failure says the database cannot serve right now (rather than that a statement is wrong): no SQLSTATE at
 * all (the connection failed, closed or timed out on the client), or a connection exception (08), insufficient
 * resources (53: too many connections, disk full) or operator intervention (57: statement timeout, shutting down,
 * starting up).
 */
export function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return /^(08|53|57)/.test(code);
  return true;
}

/** Runs a query, reporting "the database is not there" as the storage contract says (`StorageUnavailableError`); SQL errors stay as they are. */
export async function reportingUnavailable<T>(query: Promise<T>): Promise<T> {
  try {
    return await query;
  } catch (error) {
    throw isUnavailable(error) ? new StorageUnavailableError(error) : error;
  }
}

/** `/readyz`'s `database` check: PostgreSQL answers `SELECT 1` within `timeoutMs` (whatever the pool's own waits). */
export function postgresCheck(pool: pg.Pool, timeoutMs: number): ReadinessCheck {
  return {
    name: 'database',
    ready: readyWithin(timeoutMs, () => pool.query('SELECT 1').then(() => true)),
  };
}
