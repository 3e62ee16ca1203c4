import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { preflight, startApi, type TestApi } from '../support/api.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await startTestIssuer();
});
afterAll(() => issuer.close());

describe('rate limits per client address (requests without a valid token)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi(issuer, { RATE_LIMIT_PER_IP: '3', RATE_LIMIT_PER_USER: '1000' });
  });
  afterAll(() => api.close());

  it('when valid-token requests come from the address, then they do not use up its budget', async () => {
    const token = await issuer.mint();
    for (let i = 0; i < 6; i++) expect((await api.request().get('/v1/me').auth(token, { type: 'bearer' })).status).toBe(200);
  });

  it('when an address sends more bad tokens than allowed, then 429 problem+json with RateLimit headers and Retry-After', async () => {
    for (let i = 0; i < 3; i++) expect((await api.request().get('/v1/me').auth('bad', { type: 'bearer' })).status).toBe(401);
    const res = await api.request().get('/v1/me').auth('bad', { type: 'bearer' });
    expect(res.status).toBe(429);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.headers['ratelimit-policy']).toMatch(/"anonymous"; q=3; w=60/);
    expect(res.headers.ratelimit).toMatch(/"anonymous"; r=0; t=\d+/);
    expect(res.body).toMatchObject({ type: 'urn:notes-api:problem:rate-limited', status: 429, action: 'retry' });
  });

  it('when an address over its limit keeps sending, then every answer is its own 429, naming its request', async () => {
    const ids = new Set<string>();
    for (const [path, token] of [['/v1/me', 'bad'], ['/v1/notes', undefined], ['/v1/me', undefined], ['/v1/notes', 'worse']] as const) {
      const req = api.request().get(path);
      const res = await (token === undefined ? req : req.auth(token, { type: 'bearer' }));
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect(res.body).toMatchObject({ status: 429, instance: path, request_id: res.headers['x-request-id'] });
      ids.add(res.body.request_id);
    }
    expect(ids.size).toBe(4);
  });

  it('when probes call /healthz, then they are never limited', async () => {
    for (let i = 0; i < 5; i++) expect((await api.request().get('/healthz')).status).toBe(200);
  });
});

describe('rate limits per user', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi(issuer, { RATE_LIMIT_PER_USER: '2', RATE_LIMIT_PER_IP: '1000' });
  });
  afterAll(() => api.close());

  it('when a user goes over the limit, then 429 for that user while another user is still served', async () => {
    const alice = await issuer.mint({ sub: 'auth0|alice-limited' });
    const bob = await issuer.mint({ sub: 'auth0|bob-limited' });
    expect((await api.request().get('/v1/me').auth(alice, { type: 'bearer' })).status).toBe(200);
    expect((await api.request().get('/v1/me').auth(alice, { type: 'bearer' })).status).toBe(200);
    const limited = await api.request().get('/v1/me').auth(alice, { type: 'bearer' });
    expect(limited.status).toBe(429);
    expect(limited.headers['ratelimit-policy']).toMatch(/"user"; q=2; w=60/);
    expect((await api.request().get('/v1/me').auth(bob, { type: 'bearer' })).status).toBe(200);
  });

  it('when a user has a new token, then the same budget applies (keyed by sub, not by token)', async () => {
    const fresh = await issuer.mint({ sub: 'auth0|alice-limited' });
    expect((await api.request().get('/v1/me').auth(fresh, { type: 'bearer' })).status).toBe(429);
  });
});

describe('one budget per address and per window', () => {
  it('when an address sends requests without a token and then bad tokens, then both count against one budget', async () => {
    const api = await startApi(issuer, { RATE_LIMIT_PER_IP: '3', RATE_LIMIT_PER_USER: '1000' });
    try {
      // Counted on arrival without credentials, and on refusal with bad ones: the same budget, the same window.
      expect((await api.request().get('/v1/me')).headers.ratelimit).toMatch(/"anonymous"; r=2; t=\d+/);
      expect((await api.request().get('/v1/me')).headers.ratelimit).toMatch(/"anonymous"; r=1; t=\d+/);
      const refused = await api.request().get('/v1/me').auth('bad', { type: 'bearer' });
      expect(refused.status).toBe(401);
      expect(refused.headers.ratelimit).toBe('"anonymous"; r=0; t=60');
      expect((await api.request().get('/v1/me').auth('bad', { type: 'bearer' })).status).toBe(429);
      expect((await api.request().get('/v1/me')).status).toBe(429);
    } finally {
      await api.close();
    }
  });

  it('when a browser sends CORS preflights, then they do not use up its address\'s budget, and its 429 is readable', async () => {
    const api = await startApi(issuer, { RATE_LIMIT_PER_IP: '2', CORS_ORIGINS: 'https://app.example.com' });
    try {
      for (let i = 0; i < 4; i++) {
        const asked = await preflight(api, '/v1/notes', 'https://app.example.com');
        expect(asked.status).toBe(204);
        expect(asked.headers.ratelimit).toBeUndefined();
      }
      const first = await api.request().get('/v1/me').set('Origin', 'https://app.example.com');
      expect(first.status).toBe(401);
      expect(first.headers.ratelimit).toBe('"anonymous"; r=1; t=60');
      await api.request().get('/v1/me').set('Origin', 'https://app.example.com');
      // Over the limit, the browser can still read the answer: the 429 carries CORS headers.
      const limited = await api.request().get('/v1/me').set('Origin', 'https://app.example.com');
      expect(limited.status).toBe(429);
      expect(limited.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(limited.headers['access-control-expose-headers']).toContain('Retry-After');
    } finally {
      await api.close();
    }
  });

  it('when a window ends, then a limited user and a limited address are served again', async () => {
    const api = await startApi(issuer, { RATE_LIMIT_WINDOW_SECONDS: '1', RATE_LIMIT_PER_USER: '1', RATE_LIMIT_PER_IP: '1' });
    try {
      const token = await issuer.mint({ sub: 'auth0|carol-windowed' });
      expect((await api.request().get('/v1/me').auth(token, { type: 'bearer' })).status).toBe(200);
      expect((await api.request().get('/v1/me').auth(token, { type: 'bearer' })).status).toBe(429);
      expect((await api.request().get('/v1/me').auth('bad', { type: 'bearer' })).status).toBe(401);
      expect((await api.request().get('/v1/me').auth('bad', { type: 'bearer' })).status).toBe(429);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const again = await api.request().get('/v1/me').auth(token, { type: 'bearer' });
      expect(again.status).toBe(200);
      expect(again.headers.ratelimit).toBe('"user"; r=0; t=1');
      expect((await api.request().get('/v1/me').auth('bad', { type: 'bearer' })).status).toBe(401);
    } finally {
      await api.close();
    }
  });
});

describe('RATE_LIMIT_ENABLED=false', () => {
  it('when limits are off, then no request is limited and no RateLimit header is sent', async () => {
    const api = await startApi(issuer, { RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_PER_IP: '1' });
    try {
      for (let i = 0; i < 4; i++) {
        const res = await api.request().get('/v1/me');
        expect(res.status).toBe(401);
        expect(res.headers.ratelimit).toBeUndefined();
      }
    } finally {
      await api.close();
    }
  });
});

describe('TRUST_PROXY', () => {
  it('when the API trusts one proxy hop, then clients behind it are limited by their own X-Forwarded-For address', async () => {
    const api = await startApi(issuer, { TRUST_PROXY: '1', RATE_LIMIT_PER_IP: '1' });
    try {
      expect((await api.request().get('/v1/me').set('X-Forwarded-For', '198.51.100.7')).status).toBe(401);
      expect((await api.request().get('/v1/me').set('X-Forwarded-For', '198.51.100.7')).status).toBe(429);
      expect((await api.request().get('/v1/me').set('X-Forwarded-For', '203.0.113.9')).status).toBe(401);
    } finally {
      await api.close();
    }
  });

  it('when no proxy is trusted (the default), then X-Forwarded-For cannot buy a fresh budget', async () => {
    const api = await startApi(issuer, { RATE_LIMIT_PER_IP: '1' });
    try {
      expect((await api.request().get('/v1/me').set('X-Forwarded-For', '198.51.100.7')).status).toBe(401);
      expect((await api.request().get('/v1/me').set('X-Forwarded-For', '203.0.113.9')).status).toBe(429);
    } finally {
      await api.close();
    }
  });
});
