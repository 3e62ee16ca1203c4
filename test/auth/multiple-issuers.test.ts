import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { startApi, type TestApi } from '../support/api.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

let first: TestIssuer;
let second: TestIssuer;
let outsider: TestIssuer;
let api: TestApi;
beforeAll(async () => {
  first = await startTestIssuer();
  second = await startTestIssuer();
  outsider = await startTestIssuer();
  api = await startApi(first, { ISSUER_BASE_URL: `${first.url},${second.url}` });
});
afterAll(async () => {
  await api.close();
  await Promise.all([first.close(), second.close(), outsider.close()]);
});

const me = (token: string) => api.request().get('/v1/me').auth(token, { type: 'bearer' });

describe('several issuers in ISSUER_BASE_URL', () => {
  it('when tokens come from either configured issuer, then both are accepted, each issuer named in /v1/me', async () => {
    const a = await me(await first.mint());
    const b = await me(await second.mint());
    expect([a.status, b.status]).toEqual([200, 200]);
    expect([a.body.issuer, b.body.issuer]).toEqual([first.url, second.url]);
  });

  it('when each issuer is used, then each key set was fetched from its own issuer', () => {
    expect(first.fetches.jwks).toBeGreaterThanOrEqual(1);
    expect(second.fetches.jwks).toBeGreaterThanOrEqual(1);
  });

  it('when a token claims the first issuer but is signed with the second issuer\'s key, then 401', async () => {
    const forged = await second.mint({ iss: first.url });
    expect((await me(forged)).status).toBe(401);
  });

  it('when a token comes from an issuer that is not configured, then 401 and that issuer is never contacted', async () => {
    const before = outsider.fetches.discovery + outsider.fetches.jwks;
    const res = await me(await outsider.mint());
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(/does not trust/);
    expect(outsider.fetches.discovery + outsider.fetches.jwks).toBe(before);
  });

  it('when a token has no iss at all, then 401', async () => {
    expect((await me(await first.mint({ iss: undefined }))).status).toBe(401);
  });

  it('when /readyz is asked, then it checks every issuer', async () => {
    expect((await api.request().get('/readyz')).status).toBe(200);
    second.setDown(true);
    try {
      expect((await api.request().get('/readyz')).status).toBe(503);
    } finally {
      second.setDown(false);
    }
  });

  it('when the resource metadata is read, then it lists both issuers', async () => {
    const res = await api.request().get('/.well-known/oauth-protected-resource');
    expect(res.body.authorization_servers).toEqual([first.url, second.url]);
  });

  it('when an HS256 token uses a configured issuer name, then it is refused', async () => {
    const token = await new SignJWT({ iss: first.url, aud: first.audience, sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('a-secret-the-api-never-had-0123456789'));
    expect((await me(token)).status).toBe(401);
  });
});
