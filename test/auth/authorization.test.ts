import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

let issuer: TestIssuer;
let plain: TestApi;
let rbac: TestApi;
let restricted: TestApi;
beforeAll(async () => {
  issuer = await startTestIssuer();
  plain = await startApi(issuer);
  rbac = await startApi(issuer, { PERMISSIONS_CLAIM: 'permissions' });
  restricted = await startApi(issuer, { ALLOWED_CLIENT_IDS: 'native-app, ios-app' });
});
afterAll(async () => {
  await Promise.all([plain.close(), rbac.close(), restricted.close()]);
  await issuer.close();
});

describe('scopes from the scope claim', () => {
  it.each([
    ['GET', '/v1/notes', 'read:notes'],
    ['POST', '/v1/notes', 'write:notes'],
    ['GET', '/v1/notes/00000000-0000-4000-8000-000000000000', 'read:notes'],
    ['PATCH', '/v1/notes/00000000-0000-4000-8000-000000000000', 'write:notes'],
    ['DELETE', '/v1/notes/00000000-0000-4000-8000-000000000000', 'delete:notes'],
  ])('when %s %s is called without any scope, then 403 naming %s', async (method, path, scope) => {
    const token = await issuer.mint({ scope: 'openid profile' });
    const res = await plain.request()[method.toLowerCase() as 'get'](path).auth(token, { type: 'bearer' }).send({ title: 'x' });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: 'insufficient_scope', scope });
    expect(res.headers['www-authenticate']).toContain(`scope="${scope}"`);
  });

  it('when the token has no scope claim at all, then 403 (not 401)', async () => {
    const res = await plain.request().get('/v1/notes').auth(await issuer.mint({ scope: undefined }), { type: 'bearer' });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('insufficient_scope');
  });

  it('when only permissions grant the scope but PERMISSIONS_CLAIM is unset, then 403', async () => {
    const token = await issuer.mint({ scope: undefined, permissions: ['read:notes'] });
    expect((await plain.request().get('/v1/notes').auth(token, { type: 'bearer' })).status).toBe(403);
  });

  it('when any valid token calls /v1/me, then no scope is needed', async () => {
    const res = await plain.request().get('/v1/me').auth(await issuer.mint({ scope: undefined }), { type: 'bearer' });
    expect(res.status).toBe(200);
    expect(res.body.scopes).toEqual([]);
  });
});

describe('scopes from Auth0 RBAC permissions (PERMISSIONS_CLAIM=permissions)', () => {
  it('when the permissions array grants read:notes, then GET /v1/notes is allowed', async () => {
    const token = await issuer.mint({ scope: 'openid', permissions: ['read:notes'] });
    const res = await rbac.request().get('/v1/notes').auth(token, { type: 'bearer' });
    expect(res.status).toBe(200);
  });

  it('when permissions lack write:notes, then 403 insufficient_scope naming it', async () => {
    const token = await issuer.mint({ scope: undefined, permissions: ['read:notes'] });
    const res = await rbac.request().post('/v1/notes').auth(token, { type: 'bearer' }).send({ title: 'x' });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: 'insufficient_scope', scope: 'write:notes' });
  });

  it('when /v1/me is called, then permissions are listed apart from scopes', async () => {
    const token = await issuer.mint({ scope: 'openid', permissions: ['read:notes', 'delete:notes'] });
    const res = await rbac.request().get('/v1/me').auth(token, { type: 'bearer' });
    expect(res.body).toMatchObject({ scopes: ['openid'], permissions: ['read:notes', 'delete:notes'] });
  });

  it('when permissions is not an array, then it grants nothing', async () => {
    const token = await issuer.mint({ scope: undefined, permissions: 'read:notes' });
    expect((await rbac.request().get('/v1/notes').auth(token, { type: 'bearer' })).status).toBe(403);
  });
});

describe('machine-to-machine tokens on user routes', () => {
  it.each([
    ['Auth0 gty', { gty: 'client-credentials', sub: 'abc123@clients', client_id: 'abc123' }],
    ['an @clients subject', { sub: 'abc123@clients' }],
    ['sub equal to client_id (RFC 9068 §2.2)', { sub: 'backend-job', client_id: 'backend-job' }],
  ])('when a client-credentials token (%s) calls /v1/notes, then 403 user-token-required', async (_kind, claims) => {
    const token = await issuer.mint(claims);
    const res = await plain.request().get('/v1/notes').auth(token, { type: 'bearer' });
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: 'urn:notes-api:problem:user-token-required', status: 403 });
    expect(res.body.detail).toMatch(/signed-in user/);
  });

  it('when a client-credentials token calls /v1/me, then 200 with token_type machine', async () => {
    const token = await issuer.mint({ gty: 'client-credentials', sub: 'abc123@clients', client_id: 'abc123' });
    const res = await plain.request().get('/v1/me').auth(token, { type: 'bearer' });
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('machine');
  });
});

describe('ALLOWED_CLIENT_IDS', () => {
  it('when the client is on the list, then the call goes through', async () => {
    const res = await restricted.request().get('/v1/me').auth(await issuer.mint({ client_id: 'ios-app' }), { type: 'bearer' });
    expect(res.status).toBe(200);
  });

  it.each([
    ['another client_id', { client_id: 'web-app' }],
    ['an azp not on the list', { client_id: undefined, azp: 'web-app' }],
    ['no client at all', { client_id: undefined }],
  ])('when the token has %s, then 403 client-not-allowed on every route', async (_kind, claims) => {
    const token = await issuer.mint(claims);
    for (const path of ['/v1/me', '/v1/notes']) {
      const res = await restricted.request().get(path).auth(token, { type: 'bearer' });
      expect(res.status).toBe(403);
      expect(res.body.type).toBe('urn:notes-api:problem:client-not-allowed');
    }
  });
});
