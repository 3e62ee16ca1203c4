import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';
import { testRedisEnv } from '../support/redis.js';

/**
 * Three replicas of the API in one process, sharing one Redis and one key prefix, as three processes behind a load
 * balancer would. (test/replicas/ does the same with real processes.)
 */
const LIMIT = 200;
/** An hour: a run of this file rarely meets a window's end (and waits for the next window when it would). */
const WINDOW_SECONDS = 3600;
let issuer: TestIssuer;
let replicas: TestApi[];
beforeAll(async () => {
  issuer = await startTestIssuer();
  const env = { ...(await testRedisEnv('shared-rate-limits')), RATE_LIMIT_PER_USER: String(LIMIT), RATE_LIMIT_PER_IP: '5', RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS) };
  replicas = await Promise.all([startApi(issuer, env), startApi(issuer, env), startApi(issuer, env)]);
});
afterAll(async () => {
  await Promise.all(replicas.map((api) => api.close()));
  await issuer.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Several sync intervals (100 ms by default): every replica has sent its hits and taken back the totals, even on a loaded machine. */
const synced = () => sleep(600);
const remainingOf = (res: { headers: Record<string, string> }) => Number(/r=(\d+)/.exec(res.headers.ratelimit!)![1]);

describe('rate limits with REDIS_URL (shared by every replica)', () => {
  it('when a user spent part of the budget on one replica, then another replica counts those requests from its next sync', async () => {
    const token = await issuer.mint({ sub: 'auth0|shared-budget' });
    const me = (api: TestApi) => api.request().get('/v1/me').auth(token, { type: 'bearer' });
    for (let i = 0; i < 10; i++) expect((await me(replicas[0]!)).status).toBe(200);
    await synced();
    // A replica decides on the global total of its last sync for this user plus its own hits since: this one has
    // none yet, so it learns of the other replica's ten within one sync interval of its first request.
    expect((await me(replicas[1]!)).status).toBe(200);
    await synced();
    const res = await me(replicas[1]!);
    expect(res.status).toBe(200);
    expect(remainingOf(res)).toBe(LIMIT - 12);
    // Windows are aligned on the epoch, so every replica counts into the same key and names the same reset time.
    const reset = Number(/t=(\d+)/.exec(res.headers.ratelimit!)![1]);
    const third = await me(replicas[2]!);
    expect(Math.abs(Number(/t=(\d+)/.exec(third.headers.ratelimit!)![1]) - reset)).toBeLessThanOrEqual(1);
    expect(reset).toBeLessThanOrEqual(WINDOW_SECONDS);
  });

  it('when an address sends requests without a token to one replica, then another refuses it past the shared budget', async () => {
    for (let i = 0; i < 5; i++) expect((await replicas[0]!.request().get('/v1/notes')).status).toBe(401);
    await synced();
    await replicas[2]!.request().get('/v1/notes');
    await synced();
    const res = await replicas[2]!.request().get('/v1/notes');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.headers['ratelimit-policy']).toMatch(/"anonymous"; q=5; w=3600/);
    expect(res.headers.ratelimit).toMatch(/"anonymous"; r=0; t=\d+/);
  });

  it(`when a user's requests are spread over three replicas, then those admitted in one window stay within 10% of the limit`, async () => {
    const token = await issuer.mint({ sub: 'auth0|spread-over-replicas' });
    // One window for the whole run: if the current one ends within 30 s, start in the next.
    const intoWindow = Date.now() % (WINDOW_SECONDS * 1000);
    if (WINDOW_SECONDS * 1000 - intoWindow < 30_000) await sleep(WINDOW_SECONDS * 1000 - intoWindow);
    // Three clients, one per replica, each sending 100 requests one after the other, ~20 ms apart: at most about 150
    // requests a second in all (fewer on a slow machine, which only helps), 300 in all, well past the limit, so the
    // replicas must refuse on each other's counts (each alone would admit up to 200).
    const admitted = [0, 0, 0];
    const refused = [0, 0, 0];
    await Promise.all(
      replicas.map(async (api, i) => {
        for (let n = 0; n < 100; n++) {
          const res = await api.request().get('/v1/me').auth(token, { type: 'bearer' });
          if (res.status === 200) admitted[i]! += 1;
          else if (res.status === 429) refused[i]! += 1;
          else throw new Error(`unexpected ${res.status}`);
          await sleep(20);
        }
      }),
    );
    const total = admitted.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(LIMIT);
    expect(total).toBeLessThanOrEqual(LIMIT * 1.1);
    for (let i = 0; i < 3; i++) {
      expect(admitted[i]).toBeGreaterThan(0);
      expect(refused[i]).toBeGreaterThan(0);
    }
  }, 60_000);
});
