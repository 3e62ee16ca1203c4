import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { redactDatabaseUrl } from '../../src/database-url.js';
import { SEE_PREFLIGHT } from './service-recipes.js';

/** The PostgreSQL tests use: `TEST_DATABASE_URL`, by default the local server CI and developers run. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

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

async function connect(url: string, timeoutMs: number): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
}

const unreachable = (url: string, error: unknown) => `PostgreSQL at ${redactDatabaseUrl(url)} (TEST_DATABASE_URL): ${(error as Error).message}`;

/**
 * Why PostgreSQL at `url` cannot be used by the tests (refused, no answer within `timeoutMs`, authentication, no such
 * database), or `undefined` when a connection opens.
 */
export async function testDatabaseProblem(url = TEST_DATABASE_URL, timeoutMs = 2000): Promise<string | undefined> {
  try {
    await (await connect(url, timeoutMs)).end();
    return undefined;
  } catch (error) {
    return unreachable(url, error);
  }
}

/** Connects to `TEST_DATABASE_URL`, or fails saying why and where to find how to start PostgreSQL. */
export async function connectTestDatabase(url = TEST_DATABASE_URL): Promise<pg.Client> {
  try {
    return await connect(url, 5000);
  } catch (error) {
    throw new Error(`${unreachable(url, error)}; ${SEE_PREFLIGHT}`, { cause: error });
  }
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
