/**
 * A pooler in statement mode hands each statement to any server connection, so it refuses transactions, and the
 * migrations need them: the API must say so at start-up in one line and exit, never start and answer 500s.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runServerToExit } from '../support/server-process.js';
import { createPooledRole, startPgBouncer, type PooledRole, type TestPgBouncer } from '../support/pgbouncer.js';

let role: PooledRole | undefined;
let pgbouncer: TestPgBouncer | undefined;

beforeAll(async () => {
  role = await createPooledRole();
  pgbouncer = await startPgBouncer([role], { settings: { pool_mode: 'statement' } });
}, 60_000);
afterAll(async () => {
  await pgbouncer?.close();
  await role?.drop();
});

describe('starting the server through PgBouncer in statement mode', () => {
  it('when the pooler refuses transactions, then it exits 1 with one line naming the pooler mode and the URL with its password redacted', () => {
    const result = runServerToExit(
      { ISSUER_BASE_URL: 'https://tenant.example/', DATABASE_URL: pgbouncer!.urlFor(role!), METRICS_ENABLED: 'false', LOG_LEVEL: 'silent' },
      { timeoutMs: 30_000 },
    );
    expect({ status: result.status, signal: result.signal, error: result.error }).toEqual({ status: 1, signal: null, error: undefined });
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^Cannot open PostgreSQL at postgres:\/\/p_[0-9a-f]+:\*\*\*@127\.0\.0\.1:\d+\/notes: .*statement pooling mode/);
    expect(result.stdout + result.stderr).not.toContain(role!.password);
  });
});
