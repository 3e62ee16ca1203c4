import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { preflight, startApi, type TestApi } from '../support/api.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

let issuer: TestIssuer;
let closed: TestApi;
let open: TestApi;
beforeAll(async () => {
  issuer = await startTestIssuer();
  closed = await startApi(issuer);
  open = await startApi(issuer, { CORS_ORIGINS: 'https://app.example.com' });
});
afterAll(async () => {
  await Promise.all([closed.close(), open.close()]);
  await issuer.close();
});

describe('CORS', () => {
  it('when no origins are configured (the default), then no CORS header is sent', async () => {
    const res = await closed.request().get('/healthz').set('Origin', 'https://app.example.com');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('when the origin is on the allow-list, then it is allowed and the needed headers are exposed', async () => {
    const res = await open.request().get('/v1/me').set('Origin', 'https://app.example.com');
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers['access-control-expose-headers']).toContain('WWW-Authenticate');
    // A browser client must read the DPoP server nonce (DPOP_NONCE=required) to put it in its next proof.
    expect(res.headers['access-control-expose-headers']).toContain('DPoP-Nonce');
    // A traced web client quotes the trace its request belonged to (issue 24).
    expect(res.headers['access-control-expose-headers']).toContain('Server-Timing');
  });

  it('when a preflight comes from an allowed origin, then 204 allowing Authorization', async () => {
    const res = await preflight(open, '/v1/notes', 'https://app.example.com');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-headers']).toMatch(/Authorization/);
    // A traced web client sends its W3C trace context along.
    expect(res.headers['access-control-allow-headers']).toMatch(/traceparent,tracestate/);
  });

  it('when the origin is not on the list, then it gets no CORS header', async () => {
    const res = await open.request().get('/healthz').set('Origin', 'https://evil.example');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('size limits', () => {
  it('when the URL is over 2,048 characters, then 414 problem+json', async () => {
    const res = await closed.request().get(`/v1/notes?cursor=${'a'.repeat(2100)}`);
    expect(res.status).toBe(414);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 414, title: 'URI Too Long' });
  });

  it('when a browser app at an allowed origin sends a URL that is too long, then the 414 carries CORS headers it can read', async () => {
    const res = await open.request().get(`/v1/notes?cursor=${'a'.repeat(2100)}`).set('Origin', 'https://app.example.com');
    expect(res.status).toBe(414);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
    expect(res.body).toMatchObject({ status: 414, title: 'URI Too Long', request_id: res.headers['x-request-id'] });
  });
});
