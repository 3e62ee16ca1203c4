import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { INTROSPECTION_ENV, startTestIssuer, type IntrospectionMode, type TestIssuer } from '../support/issuer.js';

let issuer: TestIssuer;
let api: TestApi;
const unhandled: unknown[] = [];
const noteUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(async () => {
  process.on('unhandledRejection', noteUnhandled);
  issuer = await startTestIssuer();
  api = await startApi(issuer, {
    ...INTROSPECTION_ENV,
    INTROSPECTION_CACHE_SECONDS: '1',
    INTROSPECTION_CACHE_SIZE: '100',
    ISSUER_TIMEOUT_MS: '300',
    RATE_LIMIT_ENABLED: 'false',
  });
});
afterAll(async () => {
  await api.close();
  await issuer.close();
  process.off('unhandledRejection', noteUnhandled);
  expect(unhandled).toEqual([]);
});

const me = (token: string) => api.request().get('/v1/me').auth(token, { type: 'bearer' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How many calls to the introspection endpoint `act` made. */
async function introspectionsDuring(act: () => Promise<unknown>): Promise<number> {
  const before = issuer.introspections;
  await act();
  return issuer.introspections - before;
}
const metric = async (name: string) => (await api.metrics.registry.getSingleMetricAsString(name)) ?? '';

describe('the introspection cache', () => {
  it('when one token comes 20 times in a row, then the issuer is asked once', async () => {
    const token = issuer.mintOpaque();
    const calls = await introspectionsDuring(async () => {
      for (let i = 0; i < 20; i++) expect((await me(token)).status).toBe(200);
    });
    expect(calls).toBe(1);
  });

  it('when 20 requests bring one uncached token at once, then the issuer is asked once', async () => {
    const token = issuer.mintOpaque();
    const calls = await introspectionsDuring(async () => {
      const answers = await Promise.all(Array.from({ length: 20 }, () => me(token)));
      expect(answers.map((res) => res.status)).toEqual(Array(20).fill(200));
    });
    expect(calls).toBe(1);
  });

  it('when a flood brings one unknown token, then each gets 401 and the issuer is asked once', async () => {
    const calls = await introspectionsDuring(async () => {
      const answers = await Promise.all(Array.from({ length: 20 }, () => me('a-token-nobody-issued')));
      for (let i = 0; i < 5; i++) answers.push(await me('a-token-nobody-issued'));
      expect(new Set(answers.map((res) => res.status))).toEqual(new Set([401]));
    });
    expect(calls).toBe(1);
  });

  it('when a token is revoked at the issuer, then it works until its answer expires (INTROSPECTION_CACHE_SECONDS), then 401', async () => {
    const token = issuer.mintOpaque();
    expect((await me(token)).status).toBe(200);
    issuer.revoke(token);
    expect((await me(token)).status).toBe(200);
    await sleep(1100);
    const res = await me(token);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
  });

  it('when 1,000 distinct tokens come, then no more answers are held than INTROSPECTION_CACHE_SIZE', async () => {
    const tokens = Array.from({ length: 1000 }, () => issuer.mintOpaque());
    for (let i = 0; i < tokens.length; i += 50) {
      const answers = await Promise.all(tokens.slice(i, i + 50).map((token) => me(token)));
      expect(answers.every((res) => res.status === 200)).toBe(true);
    }
    const held = Number(/^token_cache_entries (\d+)/m.exec(await metric('token_cache_entries'))?.[1]);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(100);
  });

  it('when the issuer is asked, then introspections_total counts it by outcome', async () => {
    expect(await metric('introspections_total')).toMatch(/introspections_total\{outcome="active"\} [1-9]/);
    expect(await metric('introspections_total')).toMatch(/introspections_total\{outcome="inactive"\} [1-9]/);
    expect(await metric('introspection_duration_seconds')).toMatch(/introspection_duration_seconds_count [1-9]/);
  });
});

describe('when the introspection endpoint fails', () => {
  const failures: IntrospectionMode[] = ['down', 'slow', 'garbage', 'error500', 'refuse-client'];

  it.each(failures)('(%s), then an uncached token gets 503 with Retry-After within the timeout, and a cached one is served', async (mode) => {
    const cached = issuer.mintOpaque();
    expect((await me(cached)).status).toBe(200);
    issuer.setIntrospection(mode);
    try {
      const started = Date.now();
      const res = await me(issuer.mintOpaque());
      expect(Date.now() - started).toBeLessThan(1500);
      expect(res.status).toBe(503);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(res.body).toMatchObject({ type: 'urn:notes-api:problem:service-unavailable', action: 'retry' });
      expect((await me(cached)).status).toBe(200);
    } finally {
      issuer.setIntrospection('ok');
    }
    // One success closes the way for the next case (the breaker counts failures in a row).
    expect((await me(issuer.mintOpaque())).status).toBe(200);
  });

  it('when it keeps failing, then after five failures it is not called for a while, /readyz says degraded, and it is tried again', async () => {
    issuer.setIntrospection('error500');
    const calls = await introspectionsDuring(async () => {
      for (let i = 0; i < 10; i++) expect((await me(issuer.mintOpaque())).status).toBe(503);
    });
    expect(calls).toBe(5);
    const ready = await api.request().get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'degraded', checks: { introspection: 'failing' } });
    issuer.setIntrospection('ok');
    await sleep(1100);
    expect((await me(issuer.mintOpaque())).status).toBe(200);
    expect((await api.request().get('/readyz')).body).toMatchObject({ status: 'ready', checks: { introspection: 'ok' } });
    expect(api.logs()).toMatch(/introspection endpoint failing/);
    expect(api.logs()).toMatch(/introspection endpoint answering again/);
  });
});

describe('INTROSPECTION_ENDPOINT', () => {
  it('when it is set, then the API introspects there rather than at the endpoint discovery names', async () => {
    // A relay in front of the issuer's endpoint: what reaches it came to the configured URL.
    let relayed = 0;
    const relay = http.createServer((req, res) => {
      relayed++;
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        void fetch(`${issuer.url}oauth/introspect`, {
          method: 'POST',
          headers: { 'content-type': req.headers['content-type'] ?? '', authorization: req.headers.authorization ?? '' },
          body: Buffer.concat(chunks),
        }).then(async (answer) => res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(await answer.text()));
      });
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(relay.address() as AddressInfo).port}/introspect`;
    const relayedApi = await startApi(issuer, { ...INTROSPECTION_ENV, INTROSPECTION_ENDPOINT: endpoint, RATE_LIMIT_ENABLED: 'false' });
    try {
      const token = issuer.mintOpaque();
      const calls = await introspectionsDuring(async () => {
        expect((await relayedApi.request().get('/v1/me').auth(token, { type: 'bearer' })).status).toBe(200);
      });
      expect(calls).toBe(1);
      expect(relayed).toBe(1);
    } finally {
      await relayedApi.close();
      await new Promise((resolve) => relay.close(resolve));
    }
  });
});
