import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { startApi, type TestApi } from '../support/api.js';
import { createDpopKey, dpopProof, type DpopKey } from '../support/dpop.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';
import { parseLogLines } from '../support/log-capture.js';
import { startPrivateRedis, type PrivateRedis } from '../support/redis.js';

/** A password in REDIS_URL, which must never reach a log line or a response. */
const PASSWORD = 'redis-pw-never-logged';
const PREFIX = 'outage-test:';

let issuer: TestIssuer;
let redis: PrivateRedis;
let api: TestApi;
let key: DpopKey;
let bound: string;
let bearer: string;
const bodies: string[] = [];
beforeAll(async () => {
  issuer = await startTestIssuer();
  // A redis-server of this test's own, killed and started again below (the shared one is never touched).
  redis = await startPrivateRedis({ password: PASSWORD });
  api = await startApi(issuer, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: PREFIX, REDIS_TIMEOUT_MS: '500', RATE_LIMIT_PER_USER: '1000' });
  key = await createDpopKey();
  bound = await issuer.mint({ sub: 'auth0|dpop-user', cnf: { jkt: key.jkt } });
  bearer = await issuer.mint({ sub: 'auth0|bearer-user' });
});
afterAll(async () => {
  await api.close();
  await redis.kill();
  await issuer.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const kept = <T extends { text: string }>(res: T): T => (bodies.push(res.text), res);
const withBearer = async () => kept(await api.request().get('/v1/me').auth(bearer, { type: 'bearer' }));
const withDpop = async () =>
  kept(
    await api
      .request()
      .get('/v1/me')
      .set('Authorization', `DPoP ${bound}`)
      .set('DPoP', await dpopProof(key, { method: 'GET', url: `${api.url}/v1/me`, accessToken: bound })),
  );
const readiness = async () => kept(await api.request().get('/readyz'));
const logLines = (pattern: RegExp) => parseLogLines(api.logs()).filter((line) => pattern.test(line.msg));
const failures = async (operation: string) => {
  const text = await api.metrics.registry.getSingleMetricAsString('redis_failures_total');
  return Number(new RegExp(`operation="${operation}"} (\\d+)`).exec(text)?.[1] ?? 0);
};
/** Counts the private Redis holds for the bearer user in the current window (read directly, not through the API). */
async function countedInRedis(): Promise<number> {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 0 });
  try {
    const keys = await client.keys(`${PREFIX}rl:user:*`);
    const values = await Promise.all(keys.map((name) => client.get(name)));
    return values.reduce((sum, value) => sum + Number(value), 0);
  } finally {
    client.disconnect();
  }
}

describe('when Redis (REDIS_URL) goes away and comes back', () => {
  it('while it answers, then /readyz names it ok, DPoP and bearer requests are served, and hits reach Redis', async () => {
    const ready = await readiness();
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ database: 'ok', keys: 'ok', redis: 'ok' });
    expect((await withDpop()).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await withBearer()).status).toBe(200);
    await sleep(600); // several sync intervals
    expect(await countedInRedis()).toBe(4);
  });

  it('when it is killed, then bearer requests are still served (limits fail open), DPoP requests get 503 with Retry-After, /readyz names it (degraded, still 200), one warn line', async () => {
    await redis.kill();
    for (let i = 0; i < 5; i++) expect((await withBearer()).status).toBe(200);

    const started = Date.now();
    const refused = await withDpop();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ type: 'urn:notes-api:problem:service-unavailable', status: 503, action: 'retry' });
    // A server-side failure's detail stays in the log (errors.ts: expose); the log says why.
    const fault = logLines(/^request failed/).find((line) => line.err !== undefined);
    expect(fault).toMatchObject({ status: 503, err: { message: expect.stringMatching(/DPoP proofs cannot be checked/) } });

    // Bearer requests are served, so the replica stays in the load balancer: degraded, not unready.
    const degraded = await readiness();
    expect(degraded.status).toBe(200);
    expect(degraded.body).toEqual({ status: 'degraded', checks: { database: 'ok', keys: 'ok', redis: 'failing' } });

    await sleep(600); // several sync intervals, each failing
    expect((await withBearer()).status).toBe(200);
    expect(await failures('rate_limit_sync')).toBeGreaterThanOrEqual(1);
    expect(await failures('dpop_replay')).toBe(1);
    expect(logLines(/^Redis unreachable/)).toHaveLength(1);
    expect(logLines(/^Redis unreachable/)[0]!.level).toBe(40);
  });

  it('when it is started again, then the API recovers by itself: ready, DPoP served, the outage\'s hits sent, one info line', async () => {
    await redis.start();
    const deadline = Date.now() + 10_000;
    while ((await readiness()).body.status !== 'ready') {
      if (Date.now() > deadline) throw new Error('/readyz did not recover within 10 s of Redis coming back');
      await sleep(100);
    }
    expect((await withDpop()).status).toBe(200);
    await sleep(600);
    // The new server started empty: what the API counted during the outage (6 bearer requests) was kept and sent,
    // with the DPoP request since.
    expect(await countedInRedis()).toBe(7);
    expect(logLines(/^Redis reachable again/)).toHaveLength(1);
    expect(logLines(/^Redis reachable again/)[0]!.level).toBe(30);
    expect(logLines(/^Redis unreachable/)).toHaveLength(1);
  });

  it('then the password in REDIS_URL never appeared in a log line or a response', () => {
    expect(api.logs()).toContain('Redis unreachable');
    expect(api.logs()).not.toContain(PASSWORD);
    expect(bodies.join('\n')).not.toContain(PASSWORD);
  });
});

describe('when REDIS_URL has a wrong password', () => {
  it('then /readyz names Redis failing (degraded), DPoP requests get 503, bearer requests are served, and the password is not logged', async () => {
    const wrong = 'wrong-pw-never-logged';
    const denied = await startApi(issuer, { REDIS_URL: `redis://:${wrong}@127.0.0.1:${redis.port}`, REDIS_KEY_PREFIX: PREFIX, REDIS_TIMEOUT_MS: '500' });
    try {
      const degraded = await denied.request().get('/readyz');
      expect(degraded.status).toBe(200);
      expect(degraded.body).toMatchObject({ status: 'degraded', checks: { redis: 'failing' } });
      expect((await denied.request().get('/v1/me').auth(bearer, { type: 'bearer' })).status).toBe(200);
      const refused = await denied
        .request()
        .get('/v1/me')
        .set('Authorization', `DPoP ${bound}`)
        .set('DPoP', await dpopProof(key, { method: 'GET', url: `${denied.url}/v1/me`, accessToken: bound }));
      expect(refused.status).toBe(503);
      expect(refused.text).not.toContain(wrong);
      expect(denied.logs()).toMatch(/Redis unreachable/);
      expect(denied.logs()).not.toContain(wrong);
    } finally {
      await denied.close();
    }
  });

  it('with DPOP=required, where every request needs Redis, then /readyz answers 503 naming redis', async () => {
    const denied = await startApi(issuer, {
      REDIS_URL: `redis://:wrong-pw@127.0.0.1:${redis.port}`,
      REDIS_KEY_PREFIX: PREFIX,
      REDIS_TIMEOUT_MS: '500',
      DPOP: 'required',
    });
    try {
      const notReady = await denied.request().get('/readyz');
      expect(notReady.status).toBe(503);
      expect(notReady.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(notReady.body).toMatchObject({ status: 503, checks: { database: 'ok', keys: 'ok', redis: 'failing' } });
    } finally {
      await denied.close();
    }
  });
});
