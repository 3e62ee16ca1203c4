import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { expectSameAnswerForBothFormats, seenOf, type FormatCase } from '../support/same-answer.js';
import { createDpopKey, dpopProof, type DpopKey } from '../support/dpop.js';
import { INTROSPECTION_ENV, startTestIssuer, type TestIssuer } from '../support/issuer.js';

// One table of cases, each run with a JWT and with an opaque token carrying the same claims: the answers must be the
// same (status, problem type, OAuth error, detail, challenge), whichever way the API learned the claims.
let issuer: TestIssuer;
let api: TestApi;
let key: DpopKey;
beforeAll(async () => {
  issuer = await startTestIssuer();
  api = await startApi(issuer, { ...INTROSPECTION_ENV, STEP_UP_MAX_AGE: '300' });
  key = await createDpopKey();
});
afterAll(async () => {
  await api.close();
  await issuer.close();
});

type Format = 'jwt' | 'opaque';
const tokenOf = (format: Format, claims: Record<string, unknown> = {}) =>
  format === 'jwt' ? issuer.mint(claims) : Promise.resolve(issuer.mintOpaque(claims));
const now = () => Math.floor(Date.now() / 1000);

interface Case extends FormatCase {
  claims?: Record<string, unknown>;
  method?: 'get' | 'post' | 'delete';
  path?: string;
  /** `dpop`: sent with the DPoP scheme and a proof by `key`; `other-key`: a proof by another key. */
  send?: 'bearer' | 'dpop' | 'other-key';
}

const cases: Case[] = [
  { title: 'a valid token on GET /v1/me', expected: { status: 200 } },
  { title: 'a valid token on GET /v1/notes', path: '/v1/notes', expected: { status: 200 } },
  { title: 'a valid token on POST /v1/notes', method: 'post', path: '/v1/notes', expected: { status: 201 } },
  { title: 'an expired token', claims: { exp: now() - 60 }, expected: { status: 401, error: 'invalid_token' } },
  { title: 'a token not valid yet', claims: { nbf: now() + 600 }, expected: { status: 401, error: 'invalid_token' } },
  { title: 'a token for another audience', claims: { aud: 'https://other.example.test/' }, expected: { status: 401, error: 'invalid_token' } },
  { title: 'a token naming another issuer', claims: { iss: 'https://elsewhere.example.test/' }, expected: { status: 401, error: 'invalid_token' } },
  { title: 'a token without sub or client_id', claims: { sub: undefined, client_id: undefined }, expected: { status: 401, error: 'invalid_token' } },
  {
    title: 'a token without write:notes on POST /v1/notes',
    claims: { scope: 'read:notes' },
    method: 'post',
    path: '/v1/notes',
    expected: { status: 403, error: 'insufficient_scope', scope: 'write:notes' },
  },
  { title: 'a machine token on a user route', claims: { sub: 'native-app', gty: 'client-credentials' }, path: '/v1/notes', expected: { status: 403 } },
  {
    title: 'a login too old for DELETE (step-up)',
    claims: { auth_time: now() - 3600 },
    method: 'delete',
    path: '/v1/notes/00000000-0000-4000-8000-000000000000',
    expected: { status: 401, error: 'insufficient_user_authentication' },
  },
  { title: 'a DPoP-bound token with its proof', claims: { cnf: 'bound' }, send: 'dpop', expected: { status: 200 } },
  { title: 'a DPoP-bound token sent as Bearer', claims: { cnf: 'bound' }, expected: { status: 401, error: 'invalid_token' } },
  { title: 'a DPoP-bound token with a proof by another key', claims: { cnf: 'bound' }, send: 'other-key', expected: { status: 401, error: 'invalid_token' } },
  { title: 'a plain token sent with the DPoP scheme', send: 'dpop', expected: { status: 401, error: 'invalid_token' } },
];

async function run(format: Format, testCase: Case) {
  const claims = { ...testCase.claims, ...(testCase.claims?.cnf === 'bound' ? { cnf: { jkt: key.jkt } } : {}) };
  const token = await tokenOf(format, claims);
  const { method = 'get', path = '/v1/me', send = 'bearer' } = testCase;
  let request = api.request()[method](path);
  if (method === 'post') request = request.send({ title: 'one', body: 'two' });
  if (send === 'bearer') return request.set('Authorization', `Bearer ${token}`);
  const prover = send === 'dpop' ? key : await createDpopKey();
  const proof = await dpopProof(prover, { method: method.toUpperCase(), url: `${api.url}${path}`, accessToken: token });
  return request.set('Authorization', `DPoP ${token}`).set('DPoP', proof);
}

expectSameAnswerForBothFormats(cases, run);

describe('opaque tokens only', () => {
  it('when the issuer says a token is not active (unknown or revoked), then 401 invalid_token and nothing tells which', async () => {
    const revoked = issuer.mintOpaque();
    issuer.revoke(revoked);
    const [unknown, gone] = [
      await api.request().get('/v1/me').auth('never-issued-by-anyone', { type: 'bearer' }),
      await api.request().get('/v1/me').auth(revoked, { type: 'bearer' }),
    ];
    expect(unknown.status).toBe(401);
    expect(unknown.body).toMatchObject({ error: 'invalid_token', action: 'refresh' });
    expect(seenOf(gone)).toEqual(seenOf(unknown));
  });

  it.each([{ token_use: 'refresh_token' }, { token_type: 'refresh_token' }])('when an active answer is for a refresh token (%o), then 401 invalid_token', async (claims) => {
    const res = await api.request().get('/v1/me').auth(issuer.mintOpaque(claims), { type: 'bearer' });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: 'invalid_token', detail: 'The token is not an access token.' });
  });

  it('when the caller is admitted, then /v1/me shows what the introspection said', async () => {
    const res = await api.request().get('/v1/me').auth(issuer.mintOpaque({ sub: 'auth0|carol', scope: 'read:notes' }), { type: 'bearer' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ sub: 'auth0|carol', scopes: ['read:notes'] });
  });
});
