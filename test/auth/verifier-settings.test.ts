import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await startTestIssuer();
});
afterAll(async () => {
  await issuer.close();
});

const me = (api: TestApi, token: string) => api.request().get('/v1/me').set('Authorization', `Bearer ${token}`);

describe('STRICT_RFC9068=true', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi(issuer, { STRICT_RFC9068: 'true' });
  });
  afterAll(() => api.close());

  it('when the token follows the RFC 9068 profile, then 200', async () => {
    expect((await me(api, await issuer.mint())).status).toBe(200);
  });

  it.each(['at+jwt', 'application/at+jwt'])('when typ is %s, then 200', async (typ) => {
    expect((await me(api, await issuer.mint({}, { header: { typ } }))).status).toBe(200);
  });

  it('when typ is JWT (Auth0 default dialect), then 401 naming the profile', async () => {
    const res = await me(api, await issuer.mint({}, { header: { typ: 'JWT' } }));
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(/RFC 9068/);
  });

  it.each(['jti', 'client_id', 'iat'])('when the token lacks %s, then 401', async (claim) => {
    const res = await me(api, await issuer.mint({ [claim]: undefined }));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
  });
});

describe('STRICT_RFC9068 unset (the default)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi(issuer);
  });
  afterAll(() => api.close());

  it('when an Auth0-style token has typ JWT and no client_id or jti, then 200', async () => {
    const token = await issuer.mint({ client_id: undefined, jti: undefined, azp: 'auth0-app' }, { header: { typ: 'JWT' } });
    expect((await me(api, token)).status).toBe(200);
  });
});

describe('TOKEN_SIGNING_ALGS', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi(issuer, { TOKEN_SIGNING_ALGS: 'RS256' });
  });
  afterAll(() => api.close());

  it('when the allow-list is RS256 only, then an ES256 token from the same issuer is refused', async () => {
    expect((await me(api, await issuer.mint())).status).toBe(200);
    const res = await me(api, await issuer.mint({}, { alg: 'ES256' }));
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(/algorithm/);
  });
});

describe('JWKS_URI', () => {
  let api: TestApi;
  let discoveryBefore: number;
  beforeAll(async () => {
    discoveryBefore = issuer.fetches.discovery;
    api = await startApi(issuer, { JWKS_URI: `${issuer.url}.well-known/jwks.json` });
  });
  afterAll(() => api.close());

  it('when JWKS_URI is set, then tokens verify and discovery is never fetched', async () => {
    expect((await me(api, await issuer.mint())).status).toBe(200);
    expect((await api.request().get('/readyz')).status).toBe(200);
    expect(issuer.fetches.discovery).toBe(discoveryBefore);
  });

  it('when JWKS_URI is set, then the iss claim must still equal ISSUER_BASE_URL', async () => {
    expect((await me(api, await issuer.mint({ iss: 'https://elsewhere.example/' }))).status).toBe(401);
  });
});
