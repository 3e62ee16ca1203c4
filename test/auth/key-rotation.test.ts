import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

let issuer: TestIssuer;
let api: TestApi;
beforeAll(async () => {
  issuer = await startTestIssuer();
  // No cool-down between JWKS fetches, so the rotation below need not wait.
  api = await startApi(issuer, { JWKS_COOLDOWN_MS: '0' });
});
afterAll(async () => {
  await api.close();
  await issuer.close();
});

const callWith = (token: string) => api.request().get('/v1/me').set('Authorization', `Bearer ${token}`);

describe('key rotation at the issuer', () => {
  it('when the issuer rotates to a new key, then a token with the new kid is accepted after a refetch', async () => {
    expect((await callWith(await issuer.mint())).status).toBe(200);
    const before = issuer.fetches.jwks;
    await issuer.rotate('RS256');
    const res = await callWith(await issuer.mint());
    expect(res.status).toBe(200);
    // Two fetches: the API's key-id gate learns the new kid is published, then the token library loads the key.
    expect(issuer.fetches.jwks).toBe(before + 2);
  });

  it('when tokens of a known key keep coming, then the JWKS is not fetched again', async () => {
    const token = await issuer.mint();
    const before = issuer.fetches.jwks;
    for (let i = 0; i < 5; i++) expect((await callWith(token)).status).toBe(200);
    expect(issuer.fetches.jwks).toBe(before);
  });

  it('when the old key is still published, then tokens it signed before the rotation stay valid', async () => {
    const oldKid = await issuer.rotate('ES256');
    const oldToken = await issuer.mint({}, { alg: 'ES256', kid: oldKid });
    await issuer.rotate('ES256');
    expect((await callWith(oldToken)).status).toBe(200);
    expect((await callWith(await issuer.mint({}, { alg: 'ES256' }))).status).toBe(200);
  });
});
