import { afterEach, describe, expect, it } from '@jest/globals';
import request, { type Response } from 'supertest';
import type { RunningServer } from '../../src/http/server.js';
import { startMetricsServer } from '../../src/http/metrics-server.js';
import { startApi, type TestApi } from '../support/api.js';
import { challengeOf } from '../support/challenge.js';
import { createDpopKey, dpopProof } from '../support/dpop.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

// The API caches verified bearer tokens (TOKEN_CACHE_SIZE). These tests show that the cache weakens no check:
// each one first shows the token really is cached (the token_cache_entries gauge, as Prometheus scrapes it),
// then that what a client sees is what it would see without a cache.

interface Setup {
  issuer: TestIssuer;
  api: TestApi;
  /** GET /v1/me with a bearer token. */
  me(token: string): Promise<Response>;
  /** The `token_cache_entries` gauge, read from the metrics listener. */
  cachedTokens(): Promise<number>;
  /** `token_verifications_total` for an outcome, read from the metrics listener (0 before the first). */
  verifications(outcome: 'accepted' | 'refused'): Promise<number>;
}

const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  const errors: unknown[] = [];
  for (const close of running.splice(0).reverse()) {
    try {
      await close();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw errors[0];
});

/** A fresh issuer (so no other API's key fetches clear this cache), the API against it, and its metrics listener. */
async function start(env: Record<string, string> = {}): Promise<Setup> {
  const issuer = await startTestIssuer();
  running.push(() => issuer.close());
  const api = await startApi(issuer, env);
  running.push(() => api.close());
  const metrics: RunningServer = await startMetricsServer(api.metrics.registry, { host: '127.0.0.1', port: 0 });
  running.push(() => metrics.close());
  const scrape = async () => {
    const res = await request(metrics.url).get('/metrics');
    expect(res.status).toBe(200);
    return res.text;
  };
  return {
    issuer,
    api,
    me: async (token) => api.request().get('/v1/me').auth(token, { type: 'bearer' }),
    async cachedTokens() {
      const value = /^token_cache_entries (\d+)$/m.exec(await scrape())?.[1];
      expect(value).toBeDefined();
      return Number(value);
    },
    async verifications(outcome) {
      const value = new RegExp(`^token_verifications_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(await scrape())?.[1];
      return value === undefined ? 0 : Number(value);
    },
  };
}

const now = () => Math.floor(Date.now() / 1000);
const sleepUntil = (epochMs: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, epochMs - Date.now())));

function expectInvalidToken(res: Response, detail: RegExp) {
  expect(res.status).toBe(401);
  expect(challengeOf(res.headers['www-authenticate'], 'Bearer')?.params.error).toBe('invalid_token');
  expect(res.body).toMatchObject({ error: 'invalid_token' });
  expect(res.body.detail).toMatch(detail);
}

describe('a cached token and time (exp, nbf)', () => {
  it('when a cached token reaches its exp (CLOCK_TOLERANCE_SECONDS=0), then it is refused as expired, not served from the cache', async () => {
    const { issuer, me, cachedTokens } = await start({ CLOCK_TOLERANCE_SECONDS: '0' });
    const exp = now() + 3;
    const token = await issuer.mint({ exp });

    expect((await me(token)).status).toBe(200);
    expect(await cachedTokens()).toBe(1);
    expect((await me(token)).status).toBe(200);
    // Both were accepted while the token was still valid, the second from the cache.
    expect(Date.now()).toBeLessThan(exp * 1000);

    await sleepUntil(exp * 1000 + 300);
    const res = await me(token);
    expectInvalidToken(res, /expired/);
    expect(res.body.action).toBe('refresh');
    expect(await cachedTokens()).toBe(0);
  });

  it('when a token is not valid yet (nbf 10 minutes ahead), then it is refused every time and never cached', async () => {
    const { issuer, me, cachedTokens } = await start();
    const early = await issuer.mint({ nbf: now() + 600 });
    for (let attempt = 0; attempt < 3; attempt++) expectInvalidToken(await me(early), /not valid yet/);
    expect(await cachedTokens()).toBe(0);

    // Control: this API does cache a valid token.
    expect((await me(await issuer.mint())).status).toBe(200);
    expect(await cachedTokens()).toBe(1);
    expectInvalidToken(await me(early), /not valid yet/);
  });

  it('when a token refused as not valid yet reaches its nbf (CLOCK_TOLERANCE_SECONDS=0), then it is accepted: the refusal was not remembered', async () => {
    const { issuer, me, cachedTokens } = await start({ CLOCK_TOLERANCE_SECONDS: '0' });
    const nbf = now() + 2;
    const token = await issuer.mint({ nbf });
    expectInvalidToken(await me(token), /not valid yet/);
    expectInvalidToken(await me(token), /not valid yet/);
    expect(await cachedTokens()).toBe(0);

    await sleepUntil(nbf * 1000 + 300);
    expect((await me(token)).status).toBe(200);
    expect(await cachedTokens()).toBe(1);
  });
});

describe('a cached token whose key the issuer stops publishing (JWKS_COOLDOWN_MS=0)', () => {
  it('when the issuer rotates, removes the old key, and the API fetches the JWKS again, then the cached token of the old key is refused', async () => {
    const { issuer, me, cachedTokens } = await start({ JWKS_COOLDOWN_MS: '0' });
    const oldKid = await issuer.rotate('RS256');
    const tokenA = await issuer.mint();
    expect((await me(tokenA)).status).toBe(200);
    expect((await me(tokenA)).status).toBe(200);
    expect(await cachedTokens()).toBe(1);
    const fetchesBefore = issuer.fetches.jwks;

    await issuer.rotate('RS256');
    issuer.removeKey(oldKid);
    const tokenB = await issuer.mint();
    expect((await me(tokenB)).status).toBe(200);
    expect(issuer.fetches.jwks).toBeGreaterThan(fetchesBefore);
    // Only B is cached now: A's entry went with the refetch.
    expect(await cachedTokens()).toBe(1);

    const res = await me(tokenA);
    expectInvalidToken(res, /key this API does not know/);
    expectInvalidToken(await me(tokenA), /key this API does not know/);
    expect((await me(tokenB)).status).toBe(200);
  });

  it('when the old key stays published (control), then after the same refetch the token it signed is still accepted', async () => {
    const { issuer, me, cachedTokens } = await start({ JWKS_COOLDOWN_MS: '0' });
    await issuer.rotate('RS256');
    const tokenA = await issuer.mint();
    expect((await me(tokenA)).status).toBe(200);
    expect(await cachedTokens()).toBe(1);
    const fetchesBefore = issuer.fetches.jwks;

    await issuer.rotate('RS256');
    expect((await me(await issuer.mint())).status).toBe(200);
    expect(issuer.fetches.jwks).toBeGreaterThan(fetchesBefore);
    expect(await cachedTokens()).toBe(1);

    expect((await me(tokenA)).status).toBe(200);
    expect(await cachedTokens()).toBe(2);
  });
});

describe('guards after the cache', () => {
  it('when a cached token with only read:notes is used to create a note, then 403 insufficient_scope naming write:notes, and nothing is written', async () => {
    const { issuer, api, cachedTokens } = await start();
    const reader = await issuer.mint({ scope: 'read:notes' });
    expect((await api.request().get('/v1/notes').auth(reader, { type: 'bearer' })).status).toBe(200);
    expect(await cachedTokens()).toBe(1);

    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await api.request().post('/v1/notes').auth(reader, { type: 'bearer' }).send({ title: 'not allowed' });
      expect(res.status).toBe(403);
      expect(challengeOf(res.headers['www-authenticate'], 'Bearer')?.params).toMatchObject({ error: 'insufficient_scope', scope: 'write:notes' });
      expect(res.body).toMatchObject({ error: 'insufficient_scope', scope: 'write:notes' });
    }
    const list = await api.request().get('/v1/notes').auth(reader, { type: 'bearer' });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ items: [], next_cursor: null });

    // Control: a cached token that has write:notes does create one.
    const writer = await issuer.mint({ sub: 'auth0|writer', scope: 'read:notes write:notes' });
    expect((await api.request().get('/v1/notes').auth(writer, { type: 'bearer' })).status).toBe(200);
    expect((await api.request().post('/v1/notes').auth(writer, { type: 'bearer' }).send({ title: 'allowed' })).status).toBe(201);
  });
});

describe('DPoP with the cache on', () => {
  it('when the same DPoP proof is sent twice, then the replay is refused with invalid_dpop_proof', async () => {
    const { issuer, api } = await start({ TOKEN_CACHE_SIZE: '10000' });
    const key = await createDpopKey();
    const bound = await issuer.mint({ cnf: { jkt: key.jkt } });
    const proofFor = () => dpopProof(key, { method: 'GET', url: `${api.url}/v1/me`, accessToken: bound });
    const send = (proof: string) => api.request().get('/v1/me').set('Authorization', `DPoP ${bound}`).set('DPoP', proof);

    const proof = await proofFor();
    expect((await send(proof)).status).toBe(200);
    const replay = await send(proof);
    expect(replay.status).toBe(401);
    expect(challengeOf(replay.headers['www-authenticate'], 'DPoP')?.params.error).toBe('invalid_dpop_proof');
    expect(replay.body).toMatchObject({ error: 'invalid_dpop_proof', action: 'fix_request' });
    expect(replay.body.detail).toMatch(/used before/);

    // Control: the token itself is fine; a fresh proof is accepted.
    expect((await send(await proofFor())).status).toBe(200);
  });

  it('when a DPoP-bound token was accepted with its proof, then it is still refused when sent as Bearer', async () => {
    const { issuer, api, me } = await start();
    const key = await createDpopKey();
    const bound = await issuer.mint({ cnf: { jkt: key.jkt } });
    const proof = await dpopProof(key, { method: 'GET', url: `${api.url}/v1/me`, accessToken: bound });
    expect((await api.request().get('/v1/me').set('Authorization', `DPoP ${bound}`).set('DPoP', proof)).status).toBe(200);

    expectInvalidToken(await me(bound), /DPoP-bound/);
    expectInvalidToken(await me(bound), /DPoP-bound/);
  });
});

describe('the bound on the cache (TOKEN_CACHE_SIZE)', () => {
  it('when 5 distinct valid tokens are used with TOKEN_CACHE_SIZE=2, then token_cache_entries reads 2 and every token still works', async () => {
    const { issuer, me, cachedTokens } = await start({ TOKEN_CACHE_SIZE: '2' });
    const tokens = await Promise.all(Array.from({ length: 5 }, (_, i) => issuer.mint({ sub: `auth0|user-${i}` })));
    for (const [i, token] of tokens.entries()) {
      expect((await me(token)).status).toBe(200);
      expect(await cachedTokens()).toBe(Math.min(i + 1, 2));
    }
    // The evicted first token is verified again, not refused.
    expect((await me(tokens[0]!)).status).toBe(200);
    expect(await cachedTokens()).toBe(2);
  });

  it('when TOKEN_CACHE_SIZE=0, then token_cache_entries stays 0 and tokens still work', async () => {
    const { issuer, me, cachedTokens } = await start({ TOKEN_CACHE_SIZE: '0' });
    const tokens = await Promise.all(Array.from({ length: 3 }, (_, i) => issuer.mint({ sub: `auth0|user-${i}` })));
    for (const token of [...tokens, ...tokens]) expect((await me(token)).status).toBe(200);
    expect(await cachedTokens()).toBe(0);
  });
});

describe('concurrent requests with a token not yet cached', () => {
  it('when 20 requests bring the same new token at once, then its signature is verified once and all 20 are served', async () => {
    const { issuer, me, verifications } = await start();
    const token = await issuer.mint({ sub: 'auth0|burst' });
    const responses = await Promise.all(Array.from({ length: 20 }, () => me(token)));
    expect(responses.map((res) => res.status)).toEqual(Array.from({ length: 20 }, () => 200));
    expect(responses.every((res) => res.body.sub === 'auth0|burst')).toBe(true);
    expect(await verifications('accepted')).toBe(1);
    // Control: another token is verified on its own.
    expect((await me(await issuer.mint({ sub: 'auth0|other' }))).status).toBe(200);
    expect(await verifications('accepted')).toBe(2);
  });

  it('when 20 requests bring the same forged token at once, then it is verified once and all 20 are refused', async () => {
    const { issuer, me, verifications } = await start();
    const forged = await issuer.mint({ sub: 'auth0|burst' }, await issuer.unpublishedKey());
    const responses = await Promise.all(Array.from({ length: 20 }, () => me(forged)));
    for (const res of responses) expectInvalidToken(res, /signature/);
    expect(await verifications('refused')).toBe(1);
    expect(await verifications('accepted')).toBe(0);
  });

  it('when distinct tokens arrive at once, then each is verified and each caller gets its own identity', async () => {
    const { issuer, me, verifications } = await start();
    const tokens = await Promise.all(Array.from({ length: 5 }, (_, i) => issuer.mint({ sub: `auth0|user-${i}` })));
    const responses = await Promise.all(tokens.map((token) => me(token)));
    expect(responses.map((res) => res.body.sub)).toEqual(tokens.map((_, i) => `auth0|user-${i}`));
    expect(await verifications('accepted')).toBe(5);
  });
});

describe('a refused token', () => {
  it('when a token with a bad signature is sent again, then it stays refused, and a valid token from the same client still works', async () => {
    const { issuer, me } = await start();
    const forged = await issuer.mint({}, await issuer.unpublishedKey());
    expectInvalidToken(await me(forged), /signature/);
    expectInvalidToken(await me(forged), /signature/);

    const valid = await issuer.mint();
    const res = await me(valid);
    expect(res.status).toBe(200);
    expect(res.body.sub).toBe('auth0|alice');
    expect((await me(valid)).status).toBe(200);
    expectInvalidToken(await me(forged), /signature/);
  });

  it('when a cached refusal is answered again, then its challenge is the first one, and other refusals keep their own', async () => {
    const { issuer, api, me } = await start();
    const forged = await issuer.mint({}, await issuer.unpublishedKey());
    const first = await me(forged);
    expectInvalidToken(first, /signature/);
    const metadata = challengeOf(first.headers['www-authenticate'], 'Bearer')?.params.resource_metadata;
    expect(metadata).toMatch(/^https?:\/\/.+\/\.well-known\/oauth-protected-resource/);
    expect(challengeOf(first.headers['www-authenticate'], 'Bearer')?.params).toEqual({
      realm: expect.any(String),
      error: 'invalid_token',
      error_description: 'The access token signature is invalid.',
      resource_metadata: metadata,
    });
    expect(challengeOf(first.headers['www-authenticate'], 'DPoP')?.params).toEqual({ algs: expect.any(String), resource_metadata: metadata });
    for (let i = 0; i < 3; i++) expect((await me(forged)).headers['www-authenticate']).toBe(first.headers['www-authenticate']);

    const elsewhere = await issuer.mint({ aud: 'https://another-api.example' });
    const refused = await me(elsewhere);
    expect(challengeOf(refused.headers['www-authenticate'], 'Bearer')?.params.error_description).toMatch(/audience/);
    // The same token under the DPoP scheme: the error belongs in the DPoP challenge, not the remembered Bearer one.
    const asDpop = await api.request().get('/v1/me').set('Authorization', `DPoP ${forged}`);
    expect(asDpop.status).toBe(401);
    expect(challengeOf(asDpop.headers['www-authenticate'], 'DPoP')?.params.error).toBe('invalid_dpop_proof');
    expect(challengeOf(asDpop.headers['www-authenticate'], 'Bearer')?.params.error).toBeUndefined();
  });

  it('when a cached token is copied with the same header and claims but another signature, then the copy is refused', async () => {
    const { issuer, me, cachedTokens } = await start();
    const claims = { iat: now(), exp: now() + 600, jti: 'one-token' };
    const valid = await issuer.mint(claims);
    expect((await me(valid)).status).toBe(200);
    expect(await cachedTokens()).toBe(1);

    const forged = await issuer.mint(claims, await issuer.unpublishedKey());
    // Only the signature differs.
    expect(forged.split('.').slice(0, 2)).toEqual(valid.split('.').slice(0, 2));
    expectInvalidToken(await me(forged), /signature/);
    expect((await me(valid)).status).toBe(200);
  });
});

describe('what a cached token is answered with', () => {
  it('when several users call GET /v1/me in turns, then each gets a body of their own token every time', async () => {
    const { issuer, me } = await start();
    const exp = now() + 600;
    const tokens = [
      { token: await issuer.mint({ sub: 'auth0|ann', scope: 'read:notes', exp }), sub: 'auth0|ann', scopes: ['read:notes'], exp },
      { token: await issuer.mint({ sub: 'auth0|ben', scope: 'read:notes write:notes', exp: exp + 60 }), sub: 'auth0|ben', scopes: ['read:notes', 'write:notes'], exp: exp + 60 },
      // Ann again, from another device: a token of her own, with its own expiry.
      { token: await issuer.mint({ sub: 'auth0|ann', scope: 'write:notes', exp: exp + 120 }), sub: 'auth0|ann', scopes: ['write:notes'], exp: exp + 120 },
    ];
    for (let round = 0; round < 3; round++) {
      for (const { token, sub, scopes, exp: expiry } of tokens) {
        const res = await me(token);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(res.body).toMatchObject({ sub, scopes, expires_at: new Date(expiry * 1000).toISOString() });
      }
    }
  });
});
