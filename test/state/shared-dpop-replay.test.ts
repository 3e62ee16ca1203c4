import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { challengeOf } from '../support/challenge.js';
import { createDpopKey, dpopGetViaProxy, dpopProof, type DpopKey } from '../support/dpop.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';
import { testRedisEnv } from '../support/redis.js';

/**
 * Two replicas behind one public URL (a load balancer in front: TRUST_PROXY, Host and X-Forwarded-Proto), so one
 * DPoP proof is valid on both, as in production; only the replay store tells them apart.
 */
const PUBLIC = 'https://notes.example.test';
let issuer: TestIssuer;
let key: DpopKey;
let token: string;
beforeAll(async () => {
  issuer = await startTestIssuer();
  key = await createDpopKey();
  token = await issuer.mint({ cnf: { jkt: key.jkt } });
});
afterAll(() => issuer.close());

const viaBalancer = (api: TestApi, proof: string) => dpopGetViaProxy(api, '/v1/me', { host: 'notes.example.test', token, proof });
const newProof = () => dpopProof(key, { method: 'GET', url: `${PUBLIC}/v1/me`, accessToken: token });

async function startReplicas(env: Record<string, string>): Promise<[TestApi, TestApi]> {
  return Promise.all([startApi(issuer, { TRUST_PROXY: 'loopback', ...env }), startApi(issuer, { TRUST_PROXY: 'loopback', ...env })]);
}

describe('DPoP replay detection with REDIS_URL (shared by every replica)', () => {
  let replicas: [TestApi, TestApi];
  beforeAll(async () => {
    replicas = await startReplicas(await testRedisEnv('shared-dpop-replay'));
  });
  afterAll(() => Promise.all(replicas.map((api) => api.close())));

  it('when a proof accepted by one replica is replayed to another, then 401 invalid_dpop_proof', async () => {
    const proof = await newProof();
    expect((await viaBalancer(replicas[0], proof)).status).toBe(200);
    const replayed = await viaBalancer(replicas[1], proof);
    expect(replayed.status).toBe(401);
    expect(challengeOf(replayed.headers['www-authenticate'], 'DPoP')?.params.error).toBe('invalid_dpop_proof');
    expect(replayed.body).toMatchObject({ error: 'invalid_dpop_proof', detail: expect.stringMatching(/used before/) });
  });

  it('when the same proof reaches both replicas at once, then exactly one admits it', async () => {
    const proof = await newProof();
    const statuses = (await Promise.all([viaBalancer(replicas[0], proof), viaBalancer(replicas[1], proof)])).map((res) => res.status);
    expect(statuses.sort()).toEqual([200, 401]);
  });

  it('when each request brings a new proof, then every replica serves it', async () => {
    for (const api of [...replicas, ...replicas]) expect((await viaBalancer(api, await newProof())).status).toBe(200);
  });
});

describe('DPoP replay detection without REDIS_URL (per process)', () => {
  let replicas: [TestApi, TestApi];
  beforeAll(async () => {
    replicas = await startReplicas({});
  });
  afterAll(() => Promise.all(replicas.map((api) => api.close())));

  it('when a proof is replayed to another replica, then that replica accepts it once (what README says REDIS_URL fixes)', async () => {
    const proof = await newProof();
    expect((await viaBalancer(replicas[0], proof)).status).toBe(200);
    expect((await viaBalancer(replicas[1], proof)).status).toBe(200);
    expect((await viaBalancer(replicas[1], proof)).status).toBe(401);
  });
});
