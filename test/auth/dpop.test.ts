import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { challengeOf, parseChallenges } from '../support/challenge.js';
import { createDpopKey, dpopGetViaProxy, dpopProof, type DpopKey } from '../support/dpop.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

let issuer: TestIssuer;
let api: TestApi;
let key: DpopKey;
let bound: string;
beforeAll(async () => {
  issuer = await startTestIssuer();
  api = await startApi(issuer);
  key = await createDpopKey();
  bound = await issuer.mint({ cnf: { jkt: key.jkt } });
});
afterAll(async () => {
  await api.close();
  await issuer.close();
});

const url = (path: string) => `${api.url}${path}`;
const withDpop = async (path: string, proof?: string, token = bound) =>
  api
    .request()
    .get(path)
    .set('Authorization', `DPoP ${token}`)
    .set('DPoP', proof ?? (await dpopProof(key, { method: 'GET', url: url(path), accessToken: token })));

function expectProofRefused(res: { status: number; headers: Record<string, string>; body: Record<string, unknown> }, detail: RegExp) {
  expect(res.status).toBe(401);
  const dpop = challengeOf(res.headers['www-authenticate'], 'DPoP');
  expect(dpop?.params).toMatchObject({ error: 'invalid_dpop_proof', algs: expect.stringContaining('ES256') });
  expect(challengeOf(res.headers['www-authenticate'], 'Bearer')?.params.error).toBeUndefined();
  expect(res.body).toMatchObject({ type: 'urn:notes-api:problem:invalid-dpop-proof', error: 'invalid_dpop_proof', action: 'fix_request' });
  expect(res.body.detail).toMatch(detail);
}

describe('DPoP=allowed (the default)', () => {
  it('when a DPoP-bound token comes with a fresh proof for this request, then 200', async () => {
    const res = await withDpop('/v1/me');
    expect(res.status).toBe(200);
    expect(res.body.sub).toBe('auth0|alice');
  });

  it('when a plain bearer token is sent, then it is still accepted', async () => {
    expect((await api.request().get('/v1/me').auth(await issuer.mint(), { type: 'bearer' })).status).toBe(200);
  });

  it('when a DPoP-bound token is sent as Bearer, then 401 invalid_token', async () => {
    const res = await api.request().get('/v1/me').set('Authorization', `Bearer ${bound}`);
    expect(res.status).toBe(401);
    expect(challengeOf(res.headers['www-authenticate'], 'Bearer')?.params.error).toBe('invalid_token');
    expect(res.body.detail).toMatch(/DPoP-bound/);
  });

  it('when the proof was made for another URL, then 401 invalid_dpop_proof', async () => {
    const proof = await dpopProof(key, { method: 'GET', url: url('/v1/notes'), accessToken: bound });
    expectProofRefused(await withDpop('/v1/me', proof), /another URL/);
  });

  it('when the proof was made for another method, then 401 invalid_dpop_proof', async () => {
    const proof = await dpopProof(key, { method: 'POST', url: url('/v1/me'), accessToken: bound });
    expectProofRefused(await withDpop('/v1/me', proof), /another HTTP method/);
  });

  it('when the proof is stale (iat 10 minutes ago), then 401 invalid_dpop_proof', async () => {
    const proof = await dpopProof(key, { method: 'GET', url: url('/v1/me'), accessToken: bound }, { claims: { iat: Math.floor(Date.now() / 1000) - 600 } });
    expectProofRefused(await withDpop('/v1/me', proof), /too old/);
  });

  it('when the proof hashes another access token (ath), then 401 invalid_dpop_proof', async () => {
    const proof = await dpopProof(key, { method: 'GET', url: url('/v1/me'), accessToken: 'another-token' });
    expectProofRefused(await withDpop('/v1/me', proof), /another access token/);
  });

  it('when the same proof is sent twice, then the replay is refused', async () => {
    const proof = await dpopProof(key, { method: 'GET', url: url('/v1/me'), accessToken: bound });
    expect((await withDpop('/v1/me', proof)).status).toBe(200);
    expectProofRefused(await withDpop('/v1/me', proof), /used before/);
  });

  it('when the proof is signed by another key than the token is bound to, then 401', async () => {
    const other = await createDpopKey();
    const proof = await dpopProof(other, { method: 'GET', url: url('/v1/me'), accessToken: bound });
    const res = await withDpop('/v1/me', proof);
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(/another key/);
  });

  it('when the DPoP scheme comes without a proof, then 401 invalid_dpop_proof', async () => {
    const res = await api.request().get('/v1/me').set('Authorization', `DPoP ${bound}`);
    expectProofRefused(res, /exactly one DPoP proof/);
  });

  it('when the proof is not a signed JWT, then 401 invalid_dpop_proof', async () => {
    expectProofRefused(await withDpop('/v1/me', 'not.a.proof'), /malformed/);
  });

  it('when a proof is sent with the Bearer scheme, then 400 invalid_request', async () => {
    const proof = await dpopProof(key, { method: 'GET', url: url('/v1/me'), accessToken: bound });
    const res = await api.request().get('/v1/me').set('Authorization', `Bearer ${bound}`).set('DPoP', proof);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('when the route needs a scope the DPoP token lacks, then 403 with the error in the DPoP challenge', async () => {
    const narrow = await issuer.mint({ cnf: { jkt: key.jkt }, scope: 'read:notes' });
    const proof = await dpopProof(key, { method: 'DELETE', url: url('/v1/notes/00000000-0000-4000-8000-000000000000'), accessToken: narrow });
    const res = await api
      .request()
      .delete('/v1/notes/00000000-0000-4000-8000-000000000000')
      .set('Authorization', `DPoP ${narrow}`)
      .set('DPoP', proof);
    expect(res.status).toBe(403);
    expect(challengeOf(res.headers['www-authenticate'], 'DPoP')?.params).toMatchObject({ error: 'insufficient_scope', scope: 'delete:notes' });
  });
});

describe('DPoP behind a proxy (TRUST_PROXY)', () => {
  it('when the proof names the public https URL the client used, then the API checks htu against X-Forwarded-Proto and Host', async () => {
    const proxied = await startApi(issuer, { TRUST_PROXY: 'loopback' });
    try {
      const token = await issuer.mint({ cnf: { jkt: key.jkt } });
      const proof = await dpopProof(key, { method: 'GET', url: 'https://notes.example.test/v1/me', accessToken: token });
      const res = await dpopGetViaProxy(proxied, '/v1/me', { host: 'notes.example.test', token, proof });
      expect(res.status).toBe(200);
    } finally {
      await proxied.close();
    }
  });
});

describe('DPOP=required', () => {
  let strict: TestApi;
  beforeAll(async () => {
    strict = await startApi(issuer, { DPOP: 'required' });
  });
  afterAll(() => strict.close());

  it('when a bearer token is sent, then 401 with only a DPoP challenge and no error', async () => {
    const res = await strict.request().get('/v1/me').auth(await issuer.mint(), { type: 'bearer' });
    expect(res.status).toBe(401);
    expect(parseChallenges(res.headers['www-authenticate']).map((c) => c.scheme)).toEqual(['DPoP']);
    expect(challengeOf(res.headers['www-authenticate'], 'DPoP')?.params.error).toBeUndefined();
  });

  it('when a DPoP-bound token comes with its proof, then 200', async () => {
    const proof = await dpopProof(key, { method: 'GET', url: `${strict.url}/v1/me`, accessToken: bound });
    const res = await strict.request().get('/v1/me').set('Authorization', `DPoP ${bound}`).set('DPoP', proof);
    expect(res.status).toBe(200);
  });

  it('when an unbound token is sent with the DPoP scheme and a proof, then 401', async () => {
    const unbound = await issuer.mint();
    const proof = await dpopProof(key, { method: 'GET', url: `${strict.url}/v1/me`, accessToken: unbound });
    const res = await strict.request().get('/v1/me').set('Authorization', `DPoP ${unbound}`).set('DPoP', proof);
    expect(res.status).toBe(401);
  });
});

describe('DPOP=disabled', () => {
  it('when the DPoP scheme is used, then 401 with only a Bearer challenge', async () => {
    const plain = await startApi(issuer, { DPOP: 'disabled' });
    try {
      const proof = await dpopProof(key, { method: 'GET', url: `${plain.url}/v1/me`, accessToken: bound });
      const res = await plain.request().get('/v1/me').set('Authorization', `DPoP ${bound}`).set('DPoP', proof);
      expect(res.status).toBe(401);
      expect(parseChallenges(res.headers['www-authenticate']).map((c) => c.scheme)).toEqual(['Bearer']);
    } finally {
      await plain.close();
    }
  });
});
