import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { parseLogLines, type LogLine } from '../support/log-capture.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

let issuer: TestIssuer;
let api: TestApi;
beforeAll(async () => {
  issuer = await startTestIssuer();
  api = await startApi(issuer);
});
afterAll(async () => {
  await api.close();
  await issuer.close();
});

const lines = (): LogLine[] => parseLogLines(api.logs());
const requestLine = (requestId: string) =>
  lines().find((line) => ['request completed', 'request refused'].includes(line.msg) && (line.req as { id: string }).id === requestId);

describe('request logs', () => {
  it('when an authenticated request is served, then one JSON line has method, route pattern, status, latency, sub, client_id and request id', async () => {
    const token = await issuer.mint({ sub: 'auth0|logger' });
    const created = await api.request().post('/v1/notes').auth(token, { type: 'bearer' }).send({ title: 'log me' });
    const res = await api.request().get(`/v1/notes/${created.body.id}`).auth(token, { type: 'bearer' });
    const requestId = res.headers['x-request-id']!;
    const line = requestLine(requestId);
    expect(line).toMatchObject({
      level: 30,
      req: { id: requestId, method: 'GET', url: `/v1/notes/${created.body.id}` },
      res: { status: 200 },
      route: '/v1/notes/:id',
      sub: 'auth0|logger',
      client_id: 'native-app',
      latency_ms: expect.any(Number),
    });
    expect(lines().filter((l) => (l.req as { id?: string } | undefined)?.id === requestId && l.msg === 'request completed')).toHaveLength(1);
  });

  it('when the client sends a well-formed X-Request-Id, then it is used in the response header, the problem body and the log', async () => {
    const res = await api.request().get('/v1/me').set('X-Request-Id', 'mobile-abc.123_X');
    expect(res.headers['x-request-id']).toBe('mobile-abc.123_X');
    expect(res.body.request_id).toBe('mobile-abc.123_X');
    expect(requestLine('mobile-abc.123_X')).toMatchObject({ res: { status: 401 } });
  });

  it.each(['has spaces', 'x'.repeat(129), 'semi;colon'])('when X-Request-Id is malformed (%s), then a new id is generated', async (given) => {
    const res = await api.request().get('/healthz').set('X-Request-Id', given);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('when a token is put in the URL, then the logged URL has it redacted and the token is nowhere in the log', async () => {
    const token = await issuer.mint();
    const res = await api.request().get(`/v1/me?access_token=${token}&x=1`);
    const line = requestLine(res.headers['x-request-id']!);
    expect((line!.req as { url: string }).url).toBe('/v1/me?access_token=[redacted]&x=1');
    expect(api.logs()).not.toContain(token);
  });

  it('when authentication fails, then the reason is logged at info, never the token', async () => {
    const token = await issuer.mint({ aud: 'https://other.example' });
    const res = await api.request().get('/v1/me').auth(token, { type: 'bearer' }).set('Cookie', 'session=secret-cookie');
    const id = res.headers['x-request-id']!;
    // One line for the request, with the reason in it.
    const mine = lines().filter((l) => (l.req as { id?: string } | undefined)?.id === id);
    expect(mine).toEqual([expect.objectContaining({ level: 30, msg: 'request refused', res: { status: 401 } })]);
    expect(String(mine[0]!.reason)).toMatch(/audience/);
    expect(api.logs()).not.toContain(token);
    expect(api.logs()).not.toContain('secret-cookie');
  });
});

describe('the client-error log budget', () => {
  const requestLines = (all: LogLine[]) => all.filter((line) => ['request completed', 'request refused'].includes(line.msg));
  const summaries = (all: LogLine[]) => all.filter((line) => line.msg.startsWith('client errors not logged'));

  it('when one address sends more client errors than LOG_CLIENT_ERRORS_PER_MINUTE, then that many are logged, every success is, and one warn line sums up the rest', async () => {
    const limited = await startApi(issuer, { LOG_CLIENT_ERRORS_PER_MINUTE: '3' });
    const valid = await issuer.mint({ sub: 'auth0|budget' });
    const forged = await issuer.mint({ aud: 'https://other.example' });
    const statuses: number[] = [];
    try {
      for (const call of [
        () => limited.request().get('/v1/me').auth(forged, { type: 'bearer' }),
        () => limited.request().get('/v1/me').auth(forged, { type: 'bearer' }),
        () => limited.request().get('/v1/me').auth(forged, { type: 'bearer' }),
        () => limited.request().get('/no/such/route'),
        () => limited.request().get('/v1/me').auth(valid, { type: 'bearer' }),
        () => limited.request().get('/v1/me').auth(forged, { type: 'bearer' }),
        () => limited.request().get('/no/such/route'),
        () => limited.request().get('/v1/me').auth(valid, { type: 'bearer' }),
      ]) {
        statuses.push((await call()).status);
      }
      expect(statuses).toEqual([401, 401, 401, 404, 200, 401, 404, 200]);
      // Nothing is summed up before the minute ends.
      expect(summaries(parseLogLines(limited.logs()))).toEqual([]);
    } finally {
      await limited.close();
    }
    const all = parseLogLines(limited.logs());
    expect(requestLines(all).map((line) => (line.res as { status: number }).status)).toEqual([401, 401, 401, 200, 200]);
    // Closing the app (shutdown) logs what the minute so far left out.
    expect(summaries(all)).toEqual([
      expect.objectContaining({
        level: 40,
        client_address: '127.0.0.1',
        unlogged: 3,
        statuses: { '401': 1, '404': 2 },
        window_seconds: 60,
        per_window: 3,
      }),
    ]);
  });

  it('when a flooding client is behind the trusted proxy, then other clients of that proxy are still logged, each by its own address', async () => {
    const limited = await startApi(issuer, { LOG_CLIENT_ERRORS_PER_MINUTE: '2', TRUST_PROXY: '1' });
    try {
      for (let i = 0; i < 5; i += 1) await limited.request().get('/no/such/route').set('X-Forwarded-For', '203.0.113.7');
      for (let i = 0; i < 2; i += 1) await limited.request().get('/no/such/route').set('X-Forwarded-For', '198.51.100.9');
    } finally {
      await limited.close();
    }
    const all = parseLogLines(limited.logs());
    expect(requestLines(all)).toHaveLength(4);
    expect(summaries(all)).toEqual([expect.objectContaining({ client_address: '203.0.113.7', unlogged: 3, statuses: { '404': 3 } })]);
  });

  it('when LOG_CLIENT_ERRORS_PER_MINUTE is 0, then every client error is logged and nothing is summed up', async () => {
    const unlimited = await startApi(issuer, { LOG_CLIENT_ERRORS_PER_MINUTE: '0' });
    try {
      for (let i = 0; i < 4; i += 1) expect((await unlimited.request().get('/no/such/route')).status).toBe(404);
    } finally {
      await unlimited.close();
    }
    const all = parseLogLines(unlimited.logs());
    expect(requestLines(all)).toHaveLength(4);
    expect(summaries(all)).toEqual([]);
  });
});
