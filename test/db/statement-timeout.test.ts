import { afterEach, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { openStorage } from '../../src/db/open-storage.js';
import { boundedStatements } from '../../src/db/postgres/statements.js';
import { noteJson } from '../../src/notes/note-json.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { captureLog, parseLogLines } from '../support/log-capture.js';
import { createTestSchema, TEST_DATABASE_URL } from '../support/postgres.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const settings = (url: string, statementTimeoutMs: number) => ({
  DATABASE_URL: url,
  DATABASE_POOL_SIZE: 2,
  DATABASE_CONNECT_TIMEOUT_MS: 3000,
  DATABASE_STATEMENT_TIMEOUT_MS: statementTimeoutMs,
  DATABASE_CA_FILE: undefined,
});

describe('PostgreSQL statement timeout', () => {
  it('when the API connects to PostgreSQL itself, then each connection starts with the statement timeout, and the start-up says the server bounds statements', async () => {
    const schema = await createTestSchema();
    cleanup.push(() => schema.drop());
    const log = captureLog();
    const storage = await openStorage(settings(schema.url, 250), { logger: createLogger('info', log.stream), metrics: createMetrics({ defaultMetrics: false }) });
    cleanup.push(() => storage.close());

    const lines = parseLogLines(log.text()).map((line) => line.msg);
    expect(lines).toContain("statements are bounded by the server's statement_timeout (250 ms)");
    // A note still reads and writes as before: one statement, one round trip.
    const id = '00000000-0000-4000-8000-000000000001';
    const now = new Date().toISOString();
    const note = await storage.notes.insert('alice', { id, json: noteJson({ id, title: 'a', body: 'b', created_at: now, updated_at: now }) });
    expect(await storage.notes.find('alice', note.id)).toEqual(note);
  });

  it('when the server sets no bound (a pooler that refuses the startup parameter), then each statement runs under SET LOCAL: a slow one is cancelled and the setting does not outlive it', async () => {
    const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
    cleanup.push(() => pool.end());
    const statements = boundedStatements(pool, { by: 'transaction', serverMs: 0 }, 200);

    await expect(statements.query({ text: 'SELECT pg_sleep(2)' })).rejects.toMatchObject({ code: '57014' });
    const { rows } = await statements.query<{ statement_timeout: string }>({ text: 'SHOW statement_timeout' });
    expect(rows[0]!.statement_timeout).toBe('200ms');
    // The one connection of the pool, outside the statement's transaction, is back to the server's own setting.
    expect((await pool.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]!.statement_timeout).toBe('0');
  });
});
