import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { startApi, type TestApi } from '../support/api.js';
import { challengeOf } from '../support/challenge.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

let issuer: TestIssuer;
let api: TestApi;
beforeAll(async () => {
  issuer = await startTestIssuer();
  api = await startApi(issuer);
});
afterAll(async () => {
  await api.close();
  await issuer.close();
});

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const parts = (token: string) => token.split('.') as [string, string, string];

async function callWith(token: string) {
  return api.request().get('/v1/me').set('Authorization', `Bearer ${token}`);
}

function expectInvalidToken(res: Awaited<ReturnType<typeof callWith>>, token: string, action = 'reauthenticate') {
  expect(res.status).toBe(401);
  expect(challengeOf(res.headers['www-authenticate'], 'Bearer')?.params).toEqual({
    realm: 'notes-api',
    error: 'invalid_token',
    error_description: res.body.detail,
    resource_metadata: 'https://notes.example.test/.well-known/oauth-protected-resource/api',
  });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: 'urn:notes-api:problem:invalid-token', error: 'invalid_token', status: 401, action });
  expect(JSON.stringify(res.body)).not.toContain(token);
}

describe('GET /v1/me with a valid token', () => {
  it.each(['RS256', 'ES256'] as const)('when the token is signed with %s, then 200 and the caller', async (alg) => {
    const token = await issuer.mint({ azp: undefined }, { alg });
    const res = await callWith(token);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      sub: 'auth0|alice',
      client_id: 'native-app',
      scopes: ['read:notes', 'write:notes', 'delete:notes'],
      permissions: [],
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      token_type: 'user',
      issuer: issuer.url,
    });
  });

  it('when the token names its client with Auth0 azp, then client_id is the azp', async () => {
    const res = await callWith(await issuer.mint({ client_id: undefined, azp: 'auth0-native' }));
    expect(res.body.client_id).toBe('auth0-native');
  });
});

describe('GET /v1/me with a token that must be refused', () => {
  it('when the token expired, then 401 invalid_token telling the app to refresh, with the server clock', async () => {
    const token = await issuer.mint({ iat: now() - 3600, exp: now() - 60 });
    const res = await callWith(token);
    expectInvalidToken(res, token, 'refresh');
    expect(res.body.detail).toBe('The access token expired.');
    expect(Math.abs(Date.parse(res.body.server_time) - Date.now())).toBeLessThan(5000);
  });

  it('when the token expired within the clock tolerance, then it is still accepted', async () => {
    const res = await callWith(await issuer.mint({ exp: now() - 2 }));
    expect(res.status).toBe(200);
  });

  it('when the token is not valid yet (nbf), then 401 with the server clock', async () => {
    const token = await issuer.mint({ nbf: now() + 600 });
    const res = await callWith(token);
    expectInvalidToken(res, token);
    expect(res.body.server_time).toEqual(expect.any(String));
  });

  it('when the token was issued in the future beyond the tolerance (iat), then 401', async () => {
    const token = await issuer.mint({ iat: now() + 600 });
    const res = await callWith(token);
    expectInvalidToken(res, token);
    expect(res.body.detail).toMatch(/issued in the future/);
  });

  it('when the token comes from another issuer, then 401', async () => {
    const token = await issuer.mint({ iss: 'https://evil.example/' });
    const res = await callWith(token);
    expectInvalidToken(res, token);
    expect(res.body.detail).toMatch(/does not trust/);
  });

  it('when the token was issued for another audience, then 401', async () => {
    const token = await issuer.mint({ aud: 'https://another-api.example' });
    const res = await callWith(token);
    expectInvalidToken(res, token);
    expect(res.body.detail).toMatch(/audience/);
  });

  it('when the payload was tampered with after signing, then 401', async () => {
    const [header, , signature] = parts(await issuer.mint({ scope: 'read:notes' }));
    const token = `${header}.${b64({ iss: issuer.url, aud: issuer.audience, sub: 'auth0|mallory', scope: 'read:notes write:notes delete:notes', exp: now() + 600 })}.${signature}`;
    expectInvalidToken(await callWith(token), token);
  });

  it('when the signature is stripped, then 401', async () => {
    const [header, payload] = parts(await issuer.mint());
    const token = `${header}.${payload}.`;
    // "h.p." is not a b64token (ends with "."): the header itself is malformed.
    const res = await callWith(token);
    expect([400, 401]).toContain(res.status);
    expect(res.body.error).toMatch(/invalid_request|invalid_token/);
  });

  it('when the signature is stripped and the header says alg none, then 401', async () => {
    const [, payload] = parts(await issuer.mint());
    const token = `${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.x`;
    expectInvalidToken(await callWith(token), token);
  });

  it('when the token is HS256-signed with the issuer public key as secret (algorithm confusion), then 401', async () => {
    const pem = await issuer.publicKeyPem('RS256');
    const [rsHeader] = parts(await issuer.mint());
    const kid = (JSON.parse(Buffer.from(rsHeader, 'base64url').toString()) as { kid: string }).kid;
    const token = await new SignJWT({ iss: issuer.url, aud: issuer.audience, sub: 'auth0|mallory', scope: 'read:notes', exp: now() + 600 })
      .setProtectedHeader({ alg: 'HS256', kid })
      .sign(new TextEncoder().encode(pem));
    expectInvalidToken(await callWith(token), token);
  });

  it('when the token names a kid the issuer never published, then 401 after a refetch, not a crash', async () => {
    const token = await issuer.mint({}, { header: { kid: 'no-such-key' } });
    const res = await callWith(token);
    expectInvalidToken(res, token);
    expect(res.body.detail).toMatch(/key this API does not know/);
  });

  it('when the token is signed by a key that is not in the JWKS (under a published kid), then 401', async () => {
    const token = await issuer.mint({}, await issuer.unpublishedKey());
    const res = await callWith(token);
    expectInvalidToken(res, token);
    expect(res.body.detail).toMatch(/signature/);
  });

  it.each(['jku', 'x5u'])('when the header carries %s pointing at an attacker, then 401 and nothing is fetched from it', async (name) => {
    const token = await issuer.mint({}, { header: { [name]: 'https://attacker.example/keys' } });
    const res = await callWith(token);
    expectInvalidToken(res, token);
  });

  it('when the header embeds its own jwk, then 401', async () => {
    const token = await issuer.mint({}, { header: { jwk: { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' } } });
    expectInvalidToken(await callWith(token), token);
  });

  it('when the header marks an unknown extension critical, then 401', async () => {
    const now_ = now();
    const token = await issuer.signRaw(
      { typ: 'at+jwt', crit: ['exp-ext'], 'exp-ext': true },
      { iss: issuer.url, aud: issuer.audience, sub: 'auth0|alice', scope: 'read:notes', iat: now_, exp: now_ + 600 },
    );
    expectInvalidToken(await callWith(token), token);
  });

  it('when the token has no sub, then 401', async () => {
    const token = await issuer.mint({ sub: undefined });
    expectInvalidToken(await callWith(token), token);
  });

  it('when the token has no exp, then 401 naming the missing claim', async () => {
    const token = await issuer.mint({ exp: undefined });
    const res = await callWith(token);
    expectInvalidToken(res, token);
    expect(res.body.detail).toMatch(/\(exp\)/);
  });

  it('when the same token is signed as given (signRaw), then it is accepted: the crit test fails for crit alone', async () => {
    const now_ = now();
    const token = await issuer.signRaw({ typ: 'at+jwt' }, { iss: issuer.url, aud: issuer.audience, sub: 'auth0|alice', iat: now_, exp: now_ + 600 });
    expect((await callWith(token)).status).toBe(200);
  });

  it.each([
    ['garbage', 'not-a-jwt'],
    ['three empty-ish parts', 'a.b.c'],
    ['a JSON header that is not an object', `${b64('x')}.${b64({})}.sig`],
  ])('when the token is %s, then 401', async (_name, token) => {
    expectInvalidToken(await callWith(token), token);
  });

  it('when the token is 10 KB, then 401 without being parsed', async () => {
    const token = 'a'.repeat(10 * 1024);
    const res = await callWith(token);
    expectInvalidToken(res, token);
    expect(res.body.detail).toMatch(/too large/);
  });

  it('when the token is 100 KB, then 431 problem+json: the header is over the server limit', async () => {
    const token = 'a'.repeat(100 * 1024);
    const res = await callWith(token);
    expect(res.status).toBe(431);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.body).toMatchObject({ status: 431, title: 'Request Header Fields Too Large' });
  });
});
