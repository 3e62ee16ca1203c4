import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpError } from '../../src/errors.js';
import { problemJson } from '../../src/http/problem.js';
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

  it('when unknown URLs and requests without credentials come one after another, then each answer names its own request', async () => {
    // The answers to these are shared error objects (built once, for floods): nothing of one request may leak into the next.
    const seen = new Set<string>();
    for (const [path, status] of [['/v2/one', 404], ['/v1/me', 401], ['/v2/two', 404], ['/v1/notes', 401], ['/v2/one', 404]] as const) {
      const res = await api.request().get(path);
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ status, instance: path, request_id: res.headers['x-request-id'] });
      expect(seen.has(res.body.request_id)).toBe(false);
      seen.add(res.body.request_id);
      if (status === 401) {
        // No credentials: a challenge with no error code (RFC 6750 §3.1), whichever route was asked for.
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="[^"]+", resource_metadata="[^"]+", DPoP algs="[^"]+", resource_metadata="[^"]+"$/);
        expect(res.body).not.toHaveProperty('error');
      }
    }
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

// helmet headers that only mean something for a page a browser renders (see src/http/security-headers.ts).
const PAGE_ONLY_HEADERS = [
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];

describe('security headers', () => {
  it("when any JSON response is sent (resource, problem, 401, probe), then it carries OWASP's API set and nothing page-only", async () => {
    const token = await issuer.mint({ sub: 'auth0|headers' });
    const responses = await Promise.all([
      api.request().get('/v1/me').set('Authorization', `Bearer ${token}`),
      api.request().get('/v1/me').set('Authorization', 'Bearer not-a-token'),
      api.request().get('/nope'),
      api.request().get('/healthz'),
    ]);
    expect(responses.map((res) => res.status)).toEqual([200, 401, 404, 200]);
    for (const res of responses) {
      expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers['x-powered-by']).toBeUndefined();
      for (const name of PAGE_ONLY_HEADERS) expect([name, res.headers[name]]).toEqual([name, undefined]);
      expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/);
    }
  });

  it("when a browser loads the docs, their page, assets and spec carry helmet's full set instead", async () => {
    for (const path of ['/docs', '/docs/init.js', '/docs/swagger-ui.css', '/openapi.yaml']) {
      const res = await api.request().get(path);
      expect([path, res.status]).toEqual([path, 200]);
      expect(res.headers['content-security-policy']).toMatch(/^default-src 'self';.*script-src 'self'/);
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      // The docs page opens the sign-in popup, which must keep its opener to report back (see test/http/docs.test.ts).
      expect(res.headers['cross-origin-opener-policy']).toBe(path === '/docs' ? 'same-origin-allow-popups' : 'same-origin');
      expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });
});

describe('HEAD', () => {
  it('when HEAD is sent for a JSON resource or a refusal, then the same status and headers as GET, with no body', async () => {
    const token = await issuer.mint({ sub: 'auth0|head' });
    for (const authorization of [`Bearer ${token}`, 'Bearer not-a-token']) {
      const get = await api.request().get('/v1/me').set('Authorization', authorization);
      const head = await api.request().head('/v1/me').set('Authorization', authorization);
      expect(head.status).toBe(get.status);
      expect(head.headers['content-type']).toBe(get.headers['content-type']);
      expect(head.headers['content-length']).toBe(String(Buffer.byteLength(get.text)));
      expect(head.headers['www-authenticate']).toBe(get.headers['www-authenticate']);
      expect(head.text ?? '').toBe('');
    }
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

describe('a problem body', () => {
  it('when the same error answers several requests, then each body is the JSON of its own members, in order', () => {
    const tricky = 'quote " backslash \\ line\u2028separator, emoji 🔑, control \u0001';
    const refusal = new HttpError({ status: 401, slug: 'invalid-token', title: 'Invalid "Token"', detail: tricky, extensions: { error: 'invalid_token', note: tricky, nested: { a: [1, null] }, gone: undefined } });
    const fault = new HttpError({ status: 500, title: 'Internal error', detail: 'secret internals' });
    const asObject = (error: HttpError, instance: string, requestId?: string) =>
      JSON.stringify({
        type: error.type,
        title: error.title,
        status: error.status,
        detail: error.expose ? error.message : 'The server could not complete the request. It has been logged.',
        instance,
        ...(requestId === undefined ? {} : { request_id: requestId }),
        ...error.extensions,
      });
    for (const [instance, requestId] of [['/v1/me', 'id-1'], ['/v1/notes/"x"', 'id-2'], ['/v1/é', undefined]] as const) {
      for (const error of [refusal, fault]) {
        const text = problemJson(error, instance, requestId);
        expect(text).toBe(asObject(error, instance, requestId));
        expect(JSON.parse(text)).toMatchObject({ instance, status: error.status });
      }
    }
    expect(JSON.parse(problemJson(fault, '/x', 'id'))).not.toHaveProperty('detail', 'secret internals');
  });
});
