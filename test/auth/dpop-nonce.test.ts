import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DPOP_NONCE_STEP_SECONDS, DpopNonces } from '../../src/auth/dpop-nonce.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { startApi, type TestApi } from '../support/api.js';
import { challengeOf } from '../support/challenge.js';
import { createDpopKey, dpopProof, type DpopKey } from '../support/dpop.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

const SECRET = 'test-secret-for-dpop-nonces-0123456789abcdef';
const OTHER_SECRET = 'another-secret-for-dpop-nonces-9876543210xyz';
const STEP_MS = DPOP_NONCE_STEP_SECONDS * 1000;

let issuer: TestIssuer;
let api: TestApi;
let replica: TestApi;
let stranger: TestApi;
let key: DpopKey;
let bound: string;
beforeAll(async () => {
  issuer = await startTestIssuer();
  [api, replica, stranger] = await Promise.all([
    startApi(issuer, { DPOP_NONCE: 'required', DPOP_NONCE_SECRET: SECRET }),
    startApi(issuer, { DPOP_NONCE: 'required', DPOP_NONCE_SECRET: SECRET }),
    startApi(issuer, { DPOP_NONCE: 'required', DPOP_NONCE_SECRET: OTHER_SECRET }),
  ]);
  key = await createDpopKey();
  bound = await issuer.mint({ cnf: { jkt: key.jkt } });
});
afterAll(async () => {
  await Promise.all([api.close(), replica.close(), stranger.close()]);
  await issuer.close();
});

/** GET /v1/me on `target` with the bound token and a fresh proof carrying `nonce` (none when undefined). */
async function callMe(target: TestApi, nonce?: string) {
  const proof = await dpopProof(key, { method: 'GET', url: `${target.url}/v1/me`, accessToken: bound }, { claims: { nonce } });
  return target.request().get('/v1/me').set('Authorization', `DPoP ${bound}`).set('DPoP', proof);
}

function expectNonceDemanded(res: { status: number; headers: Record<string, string>; body: Record<string, unknown> }) {
  expect(res.status).toBe(401);
  expect(challengeOf(res.headers['www-authenticate'], 'DPoP')?.params).toMatchObject({ error: 'use_dpop_nonce', algs: expect.stringContaining('ES256') });
  expect(challengeOf(res.headers['www-authenticate'], 'Bearer')?.params.error).toBeUndefined();
  expect(res.headers['dpop-nonce']).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(res.body).toMatchObject({ type: 'urn:notes-api:problem:use-dpop-nonce', status: 401, error: 'use_dpop_nonce', action: 'retry' });
}

describe('DPOP_NONCE=required (RFC 9449 §8, §9)', () => {
  it('when a proof has no nonce, then 401 use_dpop_nonce with a DPoP-Nonce; with that nonce the retry is 200 and carries the next one', async () => {
    const first = await callMe(api);
    expectNonceDemanded(first);
    const retried = await callMe(api, first.headers['dpop-nonce']);
    expect(retried.status).toBe(200);
    expect(retried.body.sub).toBe('auth0|alice');
    expect(retried.headers['dpop-nonce']).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('when a proof carries a nonce this API never issued, then 401 use_dpop_nonce, counted as such', async () => {
    expectNonceDemanded(await callMe(api, 'made-up-nonce'));
    expect(await api.metrics.registry.getSingleMetricAsString('auth_rejections_total')).toMatch(/auth_rejections_total\{error="use_dpop_nonce"\} [1-9]/);
  });

  it('when a proof carries a stale nonce (two steps old), then 401 use_dpop_nonce', async () => {
    const stale = new DpopNonces({ secret: SECRET, now: () => Date.now() - 2 * STEP_MS }).current();
    expectNonceDemanded(await callMe(api, stale));
  });

  it('when a proof carries the previous step\'s nonce, then it is still accepted', async () => {
    const previous = new DpopNonces({ secret: SECRET, now: () => Date.now() - STEP_MS }).current();
    expect((await callMe(api, previous)).status).toBe(200);
  });

  it('when another replica with the same secret issued the nonce, then it is accepted with no shared store', async () => {
    const fromReplica = (await callMe(replica)).headers['dpop-nonce'];
    expect((await callMe(api, fromReplica)).status).toBe(200);
    expect((await callMe(replica, (await callMe(api)).headers['dpop-nonce'])).status).toBe(200);
  });

  it('when an API with another secret issued the nonce, then it is refused with use_dpop_nonce', async () => {
    const fromStranger = (await callMe(stranger)).headers['dpop-nonce'];
    expectNonceDemanded(await callMe(api, fromStranger));
  });

  it('when the proof is not a JWT at all, then it is still 401 invalid_dpop_proof, with a nonce for the next one', async () => {
    const res = await api.request().get('/v1/me').set('Authorization', `DPoP ${bound}`).set('DPoP', 'not-a-jwt');
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_dpop_proof');
    expect(res.headers['dpop-nonce']).toBeDefined();
  });

  it('when a bearer token is sent, then no nonce is asked for or sent', async () => {
    const res = await api.request().get('/v1/me').auth(await issuer.mint(), { type: 'bearer' });
    expect(res.status).toBe(200);
    expect(res.headers['dpop-nonce']).toBeUndefined();
  });
});

describe('DPOP_NONCE=off (the default)', () => {
  it('when a proof has no nonce, then it is accepted and no DPoP-Nonce is sent', async () => {
    const plain = await startApi(issuer);
    try {
      const res = await callMe(plain);
      expect(res.status).toBe(200);
      expect(res.headers['dpop-nonce']).toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});

describe('DpopNonces: stateless nonces over time steps', () => {
  it('when a client uses the last nonce it was sent and calls at least once a step, then no nonce it holds is ever refused', () => {
    let now = 1_700_000_000_000;
    const nonces = new DpopNonces({ secret: SECRET, now: () => now });
    let held = nonces.current();
    for (let call = 0; call < 500; call++) {
      now += 1_000 + ((call * 7_919) % (STEP_MS - 1_000)); // 1 s to just under a step between calls
      expect(nonces.accepts(held)).toBe(true);
      held = nonces.current();
    }
  });

  it('when a nonce is older than two steps, then it is refused; a new process with the same secret agrees', () => {
    let now = 1_700_000_000_000;
    const nonces = new DpopNonces({ secret: SECRET, now: () => now });
    const issued = nonces.current();
    now += STEP_MS;
    expect(nonces.accepts(issued)).toBe(true);
    expect(new DpopNonces({ secret: SECRET, now: () => now }).accepts(issued)).toBe(true);
    now += STEP_MS;
    expect(nonces.accepts(issued)).toBe(false);
  });

  it('when no secret is configured, then each process draws its own and refuses the other\'s nonces', () => {
    const [a, b] = [new DpopNonces(), new DpopNonces()];
    expect(a.accepts(a.current())).toBe(true);
    expect(b.accepts(a.current())).toBe(false);
    expect(a.accepts(undefined)).toBe(false);
  });
});

describe('DPOP_NONCE settings', () => {
  it('when the secret is too short, then the configuration is refused without showing it', () => {
    expect(() => loadConfig({ DPOP_NONCE: 'required', DPOP_NONCE_SECRET: 'short-secret-value' })).toThrow(
      new ConfigError('Invalid configuration: DPOP_NONCE_SECRET must be at least 32 characters (e.g. openssl rand -base64 32)'),
    );
  });

  it('when nonces are required with DPOP=disabled, then the configuration is refused', () => {
    expect(() => loadConfig({ DPOP_NONCE: 'required', DPOP: 'disabled' })).toThrow(/DPOP_NONCE=required needs DPOP=allowed or DPOP=required/);
  });

  it('when DPOP_NONCE is something else, then the configuration is refused', () => {
    expect(() => loadConfig({ DPOP_NONCE: 'yes' })).toThrow(/DPOP_NONCE/);
  });
});
