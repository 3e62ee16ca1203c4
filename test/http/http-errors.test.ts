import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
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

describe('errors outside any route', () => {
  it('when the path does not exist, then 404 problem+json', async () => {
    const res = await api.request().get('/v2/nothing');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: expect.any(String),
      instance: '/v2/nothing',
      request_id: res.headers['x-request-id'],
    });
  });

  it.each([
    ['PUT', '/v1/notes', 'GET, POST, HEAD, OPTIONS'],
    ['POST', '/v1/notes/00000000-0000-4000-8000-000000000000', 'GET, PATCH, DELETE, HEAD, OPTIONS'],
    ['DELETE', '/v1/me', 'GET, HEAD, OPTIONS'],
    ['POST', '/healthz', 'GET, HEAD, OPTIONS'],
  ])('when %s %s is sent, then 405 with Allow', async (method, path, allow) => {
    const res = await api.request()[method.toLowerCase() as 'put'](path);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.body).toMatchObject({ status: 405, title: 'Method Not Allowed' });
  });

  it('when OPTIONS is sent, then 204 with Allow', async () => {
    const res = await api.request().options('/v1/notes');
    expect(res.status).toBe(204);
    expect(res.headers.allow).toBe('GET, POST, HEAD, OPTIONS');
  });

  it('when the URL has a malformed percent-encoding, then 400 problem+json, not a crash', async () => {
    const res = await api.request().get('/v1/notes/%E0%A4%A');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('security headers', () => {
  it('when any response is sent, then helmet headers are present and X-Powered-By is not', async () => {
    const res = await api.request().get('/healthz');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
    expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
  });

  it('when an error is returned, then it carries the same headers and no stack trace', async () => {
    const res = await api.request().get('/nope');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/);
  });
});

describe('a failing database', () => {
  it('when a query fails inside the database, then 500 problem+json, logged, with no internals, and the server keeps serving', async () => {
    const token = await issuer.mint({ sub: 'auth0|db-failure' });
    api.db.exec('ALTER TABLE notes RENAME TO notes_away');
    try {
      const res = await api.request().get('/v1/notes').auth(token, { type: 'bearer' });
      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toEqual({
        type: 'about:blank',
        title: 'Internal Server Error',
        status: 500,
        detail: 'The server could not complete the request. It has been logged.',
        instance: '/v1/notes',
        request_id: res.headers['x-request-id'],
      });
      expect(res.text).not.toMatch(/SQLITE|notes_away|no such table/i);
      expect(api.logs()).toMatch(/"level":50.*no such table/);
    } finally {
      api.db.exec('ALTER TABLE notes_away RENAME TO notes');
    }
    expect((await api.request().get('/v1/notes').auth(token, { type: 'bearer' })).status).toBe(200);
  });
});

describe('logs', () => {
  it('when requests with tokens are refused or served, then no token reaches the log', async () => {
    const token = await issuer.mint({ sub: 'auth0|logged' });
    await api.request().get('/v1/me').auth(token, { type: 'bearer' });
    await api.request().get('/v1/me').auth(`${token}x`, { type: 'bearer' });
    await api.request().get(`/v1/me?access_token=${token}`);
    expect(api.logs()).toMatch(/request refused/);
    expect(api.logs()).not.toContain(token.split('.')[2]!);
  });
});
