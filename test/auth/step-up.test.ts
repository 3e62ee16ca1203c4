import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { challengeOf } from '../support/challenge.js';
import { createDpopKey, dpopProof } from '../support/dpop.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

let issuer: TestIssuer;
let api: TestApi;
beforeAll(async () => {
  issuer = await startTestIssuer();
  api = await startApi(issuer, { STEP_UP_MAX_AGE: '300' });
});
afterAll(async () => {
  await api.close();
  await issuer.close();
});

const now = () => Math.floor(Date.now() / 1000);

async function createNote(token: string): Promise<string> {
  const res = await api.request().post('/v1/notes').auth(token, { type: 'bearer' }).send({ title: 'delete me' });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

describe('DELETE /v1/notes/{id} with STEP_UP_MAX_AGE=300 (RFC 9470)', () => {
  it('when the login is older than 300 s, then 401 insufficient_user_authentication with max_age, and nothing is deleted', async () => {
    const old = await issuer.mint({ auth_time: now() - 3600 });
    const id = await createNote(old);
    const res = await api.request().delete(`/v1/notes/${id}`).auth(old, { type: 'bearer' });
    expect(res.status).toBe(401);
    expect(challengeOf(res.headers['www-authenticate'], 'Bearer')?.params).toMatchObject({
      error: 'insufficient_user_authentication',
      max_age: '300',
      resource_metadata: expect.any(String),
    });
    expect(res.body).toMatchObject({ error: 'insufficient_user_authentication', max_age: '300', action: 'reauthenticate' });
    expect((await api.request().get(`/v1/notes/${id}`).auth(old, { type: 'bearer' })).status).toBe(200);
  });

  it('when the token has no auth_time, then the deletion is refused too', async () => {
    const token = await issuer.mint();
    const id = await createNote(token);
    const res = await api.request().delete(`/v1/notes/${id}`).auth(token, { type: 'bearer' });
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(/auth_time/);
  });

  it('when the user logged in again just now, then the deletion is accepted', async () => {
    const fresh = await issuer.mint({ auth_time: now() - 10 });
    const id = await createNote(fresh);
    expect((await api.request().delete(`/v1/notes/${id}`).auth(fresh, { type: 'bearer' })).status).toBe(204);
  });

  it('when the token also lacks delete:notes, then 403 comes first (scope before step-up)', async () => {
    const token = await issuer.mint({ auth_time: now() - 3600, scope: 'read:notes write:notes' });
    const id = await createNote(token);
    expect((await api.request().delete(`/v1/notes/${id}`).auth(token, { type: 'bearer' })).status).toBe(403);
  });

  it('when the note is missing, then step-up is still asked first (401 before 404)', async () => {
    const old = await issuer.mint({ auth_time: now() - 3600 });
    const res = await api.request().delete('/v1/notes/00000000-0000-4000-8000-000000000000').auth(old, { type: 'bearer' });
    expect(res.status).toBe(401);
  });

  it('when other routes are called with an old login, then they are not affected', async () => {
    const old = await issuer.mint({ auth_time: now() - 3600 });
    expect((await api.request().get('/v1/notes').auth(old, { type: 'bearer' })).status).toBe(200);
  });

  it('when the request used DPoP, then the step-up challenge is in the DPoP challenge', async () => {
    const key = await createDpopKey();
    const token = await issuer.mint({ auth_time: now() - 3600, cnf: { jkt: key.jkt } });
    const id = await createNote(await issuer.mint());
    const path = `/v1/notes/${id}`;
    const proof = await dpopProof(key, { method: 'DELETE', url: `${api.url}${path}`, accessToken: token });
    const res = await api.request().delete(path).set('Authorization', `DPoP ${token}`).set('DPoP', proof);
    expect(res.status).toBe(401);
    expect(challengeOf(res.headers['www-authenticate'], 'DPoP')?.params).toMatchObject({ error: 'insufficient_user_authentication', max_age: '300' });
  });
});

describe('STEP_UP_ACR_VALUES', () => {
  let acrApi: TestApi;
  beforeAll(async () => {
    acrApi = await startApi(issuer, { STEP_UP_ACR_VALUES: 'urn:example:mfa' });
  });
  afterAll(() => acrApi.close());

  it('when the login was not multi-factor, then 401 with acr_values', async () => {
    const token = await issuer.mint({ acr: 'urn:example:pwd' });
    const res = await acrApi.request().delete('/v1/notes/00000000-0000-4000-8000-000000000000').auth(token, { type: 'bearer' });
    expect(res.status).toBe(401);
    expect(challengeOf(res.headers['www-authenticate'], 'Bearer')?.params).toMatchObject({ acr_values: 'urn:example:mfa' });
    expect(res.body.acr_values).toBe('urn:example:mfa');
  });

  it('when the acr matches, then the request goes on (404 for a missing note)', async () => {
    const token = await issuer.mint({ acr: 'urn:example:mfa' });
    const res = await acrApi.request().delete('/v1/notes/00000000-0000-4000-8000-000000000000').auth(token, { type: 'bearer' });
    expect(res.status).toBe(404);
  });
});
