import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';
import { createTestSchema, type TestSchema } from '../support/postgres.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { runServerToExit } from '../support/server-process.js';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await startTestIssuer();
});
afterAll(async () => {
  await issuer.close();
});

const unavailable = {
  type: 'urn:notes-api:problem:service-unavailable',
  status: 503,
  action: 'retry',
};

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

describe('PostgreSQL stopped and started again under the API', () => {
  let server: PrivatePostgres;
  let api: TestApi;
  let token: string;
  beforeAll(async () => {
    server = await startPrivatePostgres();
    // Trust authentication ignores the password: it is there to show that no log line ever carries it.
    const url = server.url.replace('postgres@', 'postgres:hunter2@');
    api = await startApi(issuer, { DATABASE_URL: url, DATABASE_CONNECT_TIMEOUT_MS: '1000', DATABASE_STATEMENT_TIMEOUT_MS: '1000' }, 'postgres');
    token = await issuer.mint({ sub: 'auth0|outage' });
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    server?.destroy();
  });

  it('when it stops, then every notes request is a 503 with Retry-After within the timeouts and /readyz names the database; when it is back, the API recovers by itself and nothing acknowledged is lost', async () => {
    const as = () => ({
      get: (path: string) => api.request().get(path).auth(token, { type: 'bearer' }),
      post: (body: object) => api.request().post('/v1/notes').auth(token, { type: 'bearer' }).send(body),
    });
    const kept = await as().post({ title: 'written before the outage' });
    expect(kept.status).toBe(201);
    // Connections in the pool, idle when the server goes: their errors must be heard, not crash the process.
    await Promise.all(Array.from({ length: 4 }, () => as().get('/v1/notes')));

    server.stop();
    const requests = [
      () => as().get('/v1/notes'),
      () => as().get(`/v1/notes/${kept.body.id}`),
      () => as().post({ title: 'during the outage' }),
      () => api.request().patch(`/v1/notes/${kept.body.id}`).auth(token, { type: 'bearer' }).send({ title: 'x' }),
      () => api.request().delete(`/v1/notes/${kept.body.id}`).auth(token, { type: 'bearer' }),
    ];
    for (const send of requests) {
      const { value: res, ms } = await timed(send);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject(unavailable);
      expect(ms).toBeLessThan(2500);
    }
    const burst = await Promise.all(Array.from({ length: 20 }, () => as().get('/v1/notes')));
    expect(burst.map((res) => res.status)).toEqual(Array(20).fill(503));
    const ready = await api.request().get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toEqual({ database: 'failing', keys: 'ok' });
    expect(api.logs()).toMatch(/PostgreSQL closed an idle connection/);
    expect(api.logs()).not.toMatch(/"res":\{"status":500/);
    expect(api.logs()).toMatch(/"res":\{"status":503/);

    server.start();
    let recovered = 0;
    for (let attempt = 0; attempt < 50 && recovered !== 200; attempt++) {
      recovered = (await as().get('/v1/notes')).status;
      if (recovered !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(recovered).toBe(200);
    expect((await api.request().get('/readyz')).status).toBe(200);
    const after = await as().get(`/v1/notes/${kept.body.id}`);
    expect(after.status).toBe(200);
    expect(after.body).toEqual(kept.body);
    expect((await as().post({ title: 'after the outage' })).status).toBe(201);
    expect(api.logs().split('\n').find((line) => line.includes('notes are kept in PostgreSQL'))).toContain('postgres://postgres:***@');
    expect(api.logs()).not.toContain('hunter2');
  }, 60_000);
});

describe('PostgreSQL that does not answer in time', () => {
  let schema: TestSchema;
  let api: TestApi;
  let token: string;
  beforeAll(async () => {
    schema = await createTestSchema();
    api = await startApi(
      issuer,
      { DATABASE_URL: schema.url, DATABASE_POOL_SIZE: '1', DATABASE_CONNECT_TIMEOUT_MS: '400', DATABASE_STATEMENT_TIMEOUT_MS: '300' },
      'postgres',
    );
    token = await issuer.mint({ sub: 'auth0|slow' });
  });
  afterAll(async () => {
    await api?.close();
    await schema?.drop();
  });

  it('when the notes table is locked, then a request is a 503 once the statement timeout passes, one waiting for the pool once the connect timeout passes, and the pool gauges show it', async () => {
    expect((await api.request().get('/v1/notes').auth(token, { type: 'bearer' })).status).toBe(200);
    await schema.query('BEGIN');
    await schema.query('LOCK TABLE notes IN ACCESS EXCLUSIVE MODE');
    try {
      // `.then` sends the request now (supertest waits for it).
      const list = () => api.request().get('/v1/notes').auth(token, { type: 'bearer' }).then((res) => res);
      const started = performance.now();
      const first = list();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const metrics = await api.metrics.registry.metrics();
      expect(metrics).toMatch(/db_pool_connections\{state="in_use"\} 1/);
      const second = list();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await api.metrics.registry.metrics()).toMatch(/db_pool_waiting_requests 1/);
      const [slow, queued] = await Promise.all([first, second]);
      expect(slow.status).toBe(503);
      expect(slow.body).toMatchObject(unavailable);
      expect(queued.status).toBe(503);
      expect(performance.now() - started).toBeLessThan(1500);
    } finally {
      await schema.query('ROLLBACK');
    }
    expect((await api.request().get('/v1/notes').auth(token, { type: 'bearer' })).status).toBe(200);
    expect(await api.metrics.registry.metrics()).toMatch(/db_query_duration_seconds_count\{operation="page"\} [1-9]/);
  });
});

describe('starting the server when PostgreSQL cannot be reached', () => {
  it('when nothing listens at DATABASE_URL, then it exits 1 with one line naming the URL with its password redacted', () => {
    const result = runServerToExit({
      ISSUER_BASE_URL: 'https://tenant.example/',
      DATABASE_URL: 'postgres://notes:hunter2@127.0.0.1:1/notes',
      DATABASE_CONNECT_TIMEOUT_MS: '500',
      METRICS_ENABLED: 'false',
      LOG_LEVEL: 'silent',
    });
    expect({ status: result.status, signal: result.signal, error: result.error }).toEqual({ status: 1, signal: null, error: undefined });
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^Cannot open PostgreSQL at postgres:\/\/notes:\*\*\*@127\.0\.0\.1:1\/notes: .*ECONNREFUSED/);
    expect(result.stdout + result.stderr).not.toContain('hunter2');
  });
});
