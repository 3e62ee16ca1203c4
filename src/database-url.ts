import path from 'node:path';

/** What `DATABASE_URL` names: a SQLite file (or `:memory:`), or a PostgreSQL server. */
export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** A scheme is two characters or more, so a Windows drive (`C:\…`) is still a path. */
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]+):/;

/**
 * Reads `DATABASE_URL`: `postgres://…` and `postgresql://…` are PostgreSQL; a plain path, `file:…`, `sqlite:…` and
 * `:memory:` are SQLite. Anything else throws an Error whose message names the scheme only, never the value (which
 * may hold a password).
 */
export function parseDatabaseUrl(value: string): DatabaseTarget {
  const scheme = SCHEME.exec(value)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    if (!URL.canParse(value) || !new URL(value).hostname) {
      throw new Error(`is not a valid ${scheme}:// URL (expected ${scheme}://USER:PASSWORD@HOST:5432/DATABASE)`);
    }
    return { kind: 'postgres', url: value };
  }
  if (scheme === undefined || scheme === 'file' || scheme === 'sqlite') {
    const withoutScheme = value.replace(/^(sqlite|file):(\/\/)?/i, '');
    return { kind: 'sqlite', path: withoutScheme === ':memory:' ? withoutScheme : path.resolve(withoutScheme) };
  }
  throw new Error(
    `has the unsupported scheme "${scheme}:"; use postgres:// or postgresql:// for PostgreSQL, or a file path, file: or sqlite: for SQLite`,
  );
}

/** The URL with its password replaced by `***`, for logs and messages. */
export function redactDatabaseUrl(value: string): string {
  if (!URL.canParse(value)) return value.replace(/\/\/([^/@]*)@/, '//***@');
  const url = new URL(value);
  if (url.password) url.password = '***';
  for (const key of [...url.searchParams.keys()]) if (/pass/i.test(key)) url.searchParams.set(key, '***');
  return url.toString();
}
