import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { challengeOf, parseChallenges } from '../support/challenge.js';
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

const METADATA = 'https://notes.example.test/.well-known/oauth-protected-resource/api';

/** A 401 with no error anywhere: a Bearer and a DPoP challenge, each pointing at the resource metadata. */
function expectBareChallenge(field: string | undefined) {
  expect(parseChallenges(field)).toEqual([
    { scheme: 'Bearer', params: { realm: 'notes-api', resource_metadata: METADATA } },
    { scheme: 'DPoP', params: { algs: expect.stringContaining('ES256'), resource_metadata: METADATA } },
  ]);
}

describe('RFC 6750 §3: how a request without a usable token is refused', () => {
  it('when no credentials are sent, then 401 with a bare challenge and no error code', async () => {
    const res = await api.request().get('/v1/me');
    expect(res.status).toBe(401);
    expectBareChallenge(res.headers['www-authenticate']);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: 'urn:notes-api:problem:unauthorized', status: 401, action: 'reauthenticate' });
    expect(res.body).not.toHaveProperty('error');
  });

  it('when another scheme is used (Basic), then 401 with a bare challenge', async () => {
    const res = await api.request().get('/v1/me').set('Authorization', 'Basic YWxpY2U6c2VjcmV0');
    expect(res.status).toBe(401);
    expectBareChallenge(res.headers['www-authenticate']);
    expect(res.body).not.toHaveProperty('error');
  });

  it.each([
    ['Bearer', 'a scheme with no token'],
    ['Bearer a b', 'two tokens'],
    ['Bearer abc$def', 'characters outside b64token'],
  ])('when the header is "%s" (%s), then 400 invalid_request', async (header) => {
    const res = await api.request().get('/v1/me').set('Authorization', header);
    expect(res.status).toBe(400);
    expect(challengeOf(res.headers['www-authenticate'], 'Bearer')?.params).toEqual({
      realm: 'notes-api',
      error: 'invalid_request',
      error_description: res.body.detail,
    });
    expect(res.body).toMatchObject({ error: 'invalid_request', action: 'fix_request', status: 400 });
  });

  it('when the scheme is written in another case ("bearer"), then the token is accepted (RFC 9110 §11.1)', async () => {
    const token = await issuer.mint();
    const res = await api.request().get('/v1/me').set('Authorization', `bearer ${token}`);
    expect(res.status).toBe(200);
  });

  it('when a valid token is sent in the query string only, then 400: tokens are accepted only in the header', async () => {
    const token = await issuer.mint();
    const res = await api.request().get(`/v1/me?access_token=${token}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.detail).toMatch(/only in the Authorization header/);
    expect(JSON.stringify(res.body) + res.headers['www-authenticate']).not.toContain(token);
  });

  it('when a token is sent twice (header and query), then 400 invalid_request', async () => {
    const token = await issuer.mint();
    const res = await api.request().get(`/v1/me?access_token=${token}`).auth(token, { type: 'bearer' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.detail).toMatch(/more than once/);
  });

  it('when a valid token is sent in a form body only, then it is not accepted', async () => {
    const token = await issuer.mint();
    const res = await api.request().post('/v1/notes').type('form').send({ access_token: token, title: 'x' });
    expect(res.status).toBe(401);
    expectBareChallenge(res.headers['www-authenticate']);
  });

  it('when the token is valid but lacks the scope, then 403 insufficient_scope naming it', async () => {
    const token = await issuer.mint({ scope: 'read:notes' });
    const res = await api.request().post('/v1/notes').auth(token, { type: 'bearer' }).send({ title: 'x' });
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="notes-api", error="insufficient_scope", error_description="The access token does not grant write:notes.", scope="write:notes", ' +
        'DPoP algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA"',
    );
    expect(res.body).toMatchObject({ error: 'insufficient_scope', scope: 'write:notes', status: 403 });
  });
});
