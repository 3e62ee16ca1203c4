import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { redactDatabaseUrl } from '../../src/database-url.js';

/** The PostgreSQL tests use: `TEST_DATABASE_URL`, by default the local server CI and developers run. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

const HOW_TO_START =
  'These tests need PostgreSQL 13+ with trust authentication and a database "test". Start the local one ' +
  '(Debian/Ubuntu: `sudo pg_ctlcluster 15 main start`; or `.ci/run`, which starts it when it is installed), or point ' +
  'TEST_DATABASE_URL at one, e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test';

/** A schema of its own in the test database: tests that use one run in parallel with all others. */
export interface TestSchema {
  readonly name: string;
  /** `TEST_DATABASE_URL` with `search_path` set to this schema (what DATABASE_URL is set to). */
  readonly url: string;
  /** A query on the test database, through a connection of its own (not the API's pool). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/** `url` with `search_path` set to `schema`, passed in the startup packet (`options=-c search_path=…`). */
export function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

/** Connects to `TEST_DATABASE_URL`, or fails with a message saying how to start PostgreSQL. */
export async function connectTestDatabase(url = TEST_DATABASE_URL): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw new Error(`PostgreSQL cannot be reached at ${redactDatabaseUrl(url)}: ${(error as Error).message}. ${HOW_TO_START}`, { cause: error });
  }
  return client;
}

/**
 * Creates a schema `t_<random>` in the test database.
 *
 * @example
 * const schema = await createTestSchema();
 * const api = await startApi(issuer, { DATABASE_URL: schema.url });
 * …
 * await schema.drop();
 */
export async function createTestSchema(): Promise<TestSchema> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const client = await connectTestDatabase();
  await client.query(`CREATE SCHEMA ${name}`);
  await client.query(`SET search_path = ${name}`);
  return {
    name,
    url: withSearchPath(TEST_DATABASE_URL, name),
    query: (sql, values) => client.query(sql, values),
    async drop() {
      try {
        await client.query(`DROP SCHEMA ${name} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
