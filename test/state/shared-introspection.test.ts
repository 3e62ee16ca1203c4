import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { INTROSPECTION_ENV, startTestIssuer, type TestIssuer } from '../support/issuer.js';
import { testRedisEnv } from '../support/redis.js';

// Three replicas (three API instances in this process, as separate processes would be) sharing one Redis: an
// introspection answer one of them got serves the others, and a revoked token ends on all of them together.
let issuer: TestIssuer;
let replicas: TestApi[];
beforeAll(async () => {
  issuer = await startTestIssuer();
  const env = { ...INTROSPECTION_ENV, ...(await testRedisEnv('introspection')), INTROSPECTION_CACHE_SECONDS: '3' };
  replicas = await Promise.all([1, 2, 3].map(() => startApi(issuer, env)));
});
afterAll(async () => {
  for (const replica of replicas) await replica.close();
  await issuer.close();
});

const me = (replica: TestApi, token: string) => replica.request().get('/v1/me').auth(token, { type: 'bearer' });

describe('with REDIS_URL, three replicas', () => {
  it('when each replica serves one token in turn, then the issuer is asked once in all', async () => {
    const token = issuer.mintOpaque();
    const before = issuer.introspections;
    for (let round = 0; round < 3; round++) {
      for (const replica of replicas) expect((await me(replica, token)).status).toBe(200);
    }
    expect(issuer.introspections - before).toBe(1);
  });

  it('when an unknown token goes to each replica, then the issuer is asked once in all', async () => {
    const before = issuer.introspections;
    for (const replica of replicas) expect((await me(replica, 'unknown-to-the-issuer')).status).toBe(401);
    expect(issuer.introspections - before).toBe(1);
  });

  it('when a token is revoked at the issuer, then every replica refuses it once the shared answer ends', async () => {
    const token = issuer.mintOpaque();
    for (const replica of replicas) expect((await me(replica, token)).status).toBe(200);
    issuer.revoke(token);
    await new Promise((resolve) => setTimeout(resolve, 3100));
    for (const replica of replicas) expect((await me(replica, token)).status).toBe(401);
  });
});
