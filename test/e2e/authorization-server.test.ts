import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { DEV_ONE_TIME_CODE } from '../../dev/authorization-server/authentication-context.js';
import { discoverAuthorizationServer } from '../../dev/native-client/authorization-server.js';
import { createDpopKey } from '../../dev/native-client/dpop-key.js';
import { createCookieJar } from '../../dev/native-client/headless.js';
import type { StoredTokens } from '../../dev/native-client/token-store.js';
import {
  AUDIENCE,
  authorize,
  CLIENT_ID,
  decodeJwt,
  passwordOf,
  signIn,
  sleep,
  startDevStack,
  UNUSED_LOOPBACK_REDIRECT,
  type DevStack,
} from './dev-stack.js';

let stack: DevStack;
beforeAll(async () => {
  stack = await startDevStack();
});
afterAll(async () => {
  await stack?.close();
});

/** The OAuth error a failed openid-client call carries, as `{ error, status }`. */
async function oauthErrorOf(promise: Promise<unknown>): Promise<{ error: string; status?: number; description?: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof client.ResponseBodyError) return { error: error.error, status: error.status, description: error.error_description };
    if (error instanceof client.AuthorizationResponseError) return { error: error.error, description: error.error_description };
    throw error;
  }
  throw new Error('expected the request to be refused');
}

function expectErrorRedirect(callbackUrl: URL, error: string, state: string) {
  expect(callbackUrl.origin + callbackUrl.pathname).toBe(UNUSED_LOOPBACK_REDIRECT);
  expect(callbackUrl.searchParams.get('error')).toBe(error);
  expect(callbackUrl.searchParams.get('state')).toBe(state);
  expect(callbackUrl.searchParams.get('iss')).toBe(stack.devServer.issuer);
  expect(callbackUrl.searchParams.has('code')).toBe(false);
}

describe('POST /token with an authorization code', () => {
  it('when the code_verifier does not match the code_challenge, then 400 invalid_grant and no tokens', async () => {
    const { config, state, callbackUrl } = await authorize(stack);
    expect(callbackUrl.searchParams.get('code')).toEqual(expect.any(String));

    const refused = await oauthErrorOf(
      client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: state }),
    );

    expect(refused).toMatchObject({ error: 'invalid_grant', status: 400 });
    expect(stack.logs.join('\n')).toContain('code_verifier does not match code_challenge');
  });

  it('when the code is exchanged a second time, then 400 invalid_grant and the tokens of the first exchange are revoked', async () => {
    const { config, codeVerifier, state, callbackUrl } = await authorize(stack);
    const first = await client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: codeVerifier, expectedState: state });
    expect(first.refresh_token).toEqual(expect.any(String));

    const replay = await oauthErrorOf(client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: codeVerifier, expectedState: state }));

    expect(replay).toMatchObject({ error: 'invalid_grant', status: 400 });
    // RFC 6749 §4.1.2: a reused code should revoke what was issued with it.
    expect(await oauthErrorOf(client.refreshTokenGrant(config, first.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
  });

  it('when the state in the callback is not the one sent, then the client refuses it before spending the code', async () => {
    const { config, codeVerifier, state, callbackUrl } = await authorize(stack);

    const refused = client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: codeVerifier, expectedState: client.randomState() });

    await expect(refused).rejects.toMatchObject({ cause: { message: expect.stringMatching(/"state" response parameter/) } });
    const tokens = await client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: codeVerifier, expectedState: state });
    expect(tokens.access_token).toEqual(expect.any(String));
  });
});

describe('GET /auth (the authorization request)', () => {
  it('when the code_challenge_method is plain, then it redirects back with invalid_request and no code', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const { state, callbackUrl } = await authorize(stack, { code_challenge: verifier, code_challenge_method: 'plain' });
    expectErrorRedirect(callbackUrl, 'invalid_request', state);
    expect(callbackUrl.searchParams.get('error_description')).toBe('not supported value of code_challenge_method');
  });

  it('when there is no code_challenge, then it redirects back with invalid_request: PKCE is required', async () => {
    const { state, callbackUrl } = await authorize(stack, { code_challenge: undefined, code_challenge_method: undefined });
    expectErrorRedirect(callbackUrl, 'invalid_request', state);
    expect(callbackUrl.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('when the audience names another API, then it redirects back with invalid_target', async () => {
    const other = 'https://other-api.example.test/';
    const { state, callbackUrl } = await authorize(stack, { audience: other, resource: other });
    expectErrorRedirect(callbackUrl, 'invalid_target', state);
  });

  it.each([
    ['only audience (Auth0 style)', { resource: undefined }],
    ['only resource (RFC 8707)', { audience: undefined }],
    ['neither (the API is the default)', { resource: undefined, audience: undefined }],
  ])('when the request names the API with %s, then the access token is for the API', async (_case, overrides) => {
    const { config, codeVerifier, state, callbackUrl } = await authorize(stack, overrides);
    const tokens = await client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: codeVerifier, expectedState: state });
    expect(decodeJwt(tokens.access_token).payload).toMatchObject({ aud: AUDIENCE, sub: 'alice' });
    const res = await stack.api.request().get('/v1/me').auth(tokens.access_token, { type: 'bearer' });
    expect(res.status).toBe(200);
  });

  it('when the loopback redirect URI has any port, then it is accepted (RFC 8252 §7.3)', async () => {
    for (const redirectUri of ['http://127.0.0.1:61001/callback', 'http://127.0.0.1:61002/callback']) {
      const { callbackUrl } = await authorize(stack, {}, { redirectUri });
      expect(callbackUrl.origin + callbackUrl.pathname).toBe(redirectUri);
      expect(callbackUrl.searchParams.get('code')).toEqual(expect.any(String));
    }
  });

  it('when the redirect URI is the private-use scheme, then the code is delivered to it and can be exchanged', async () => {
    const redirectUri = 'com.example.notes:/oauth2redirect';
    const { config, codeVerifier, state, callbackUrl } = await authorize(stack, {}, { user: 'bob', redirectUri });
    expect(callbackUrl.protocol).toBe('com.example.notes:');
    expect(callbackUrl.searchParams.get('state')).toBe(state);

    const tokens = await client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: codeVerifier, expectedState: state });
    expect(decodeJwt(tokens.access_token).payload.sub).toBe('bob');
  });

  it('when the redirect URI is not registered, then an error page (400) and no redirect', async () => {
    const url = new URL(`${stack.devServer.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: CLIENT_ID,
      response_type: 'code',
      redirect_uri: 'http://attacker.example/callback',
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    }).toString();

    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(5000) });

    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await res.text()).toContain('invalid_redirect_uri');
  });
});

describe('the login and consent pages', () => {
  it('when the password is wrong, then the login page says so and no code is issued', async () => {
    await expect(signIn(stack, 'alice', { headless: { user: 'alice', password: 'bob-dev-password' } })).rejects.toThrow(
      /refused the sign-in of alice: Wrong user name or password/,
    );
    expect(stack.logs.join('\n')).toContain('sign-in refused for user name "alice"');
  });

  it('when the login page is served, then it is a plain form that cannot be framed or cached', async () => {
    const config = await discoverAuthorizationServer(stack.devServer.issuer, CLIENT_ID);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: UNUSED_LOOPBACK_REDIRECT,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const start = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
    expect(start.status).toBe(303);
    const cookies = start.headers.getSetCookie().map((cookie) => cookie.split(';')[0]).join('; ');

    const page = await fetch(new URL(start.headers.get('location')!, url), { headers: { Cookie: cookies }, signal: AbortSignal.timeout(5000) });

    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await page.text();
    expect(html).toMatch(/<form method="post" action="\/interaction\/[\w-]+\/login"/);
    expect(html).toContain('name="password" type="password"');
    expect(html).toMatch(/<input id="otp" name="otp" type="text" inputmode="numeric" autocomplete="one-time-code"[^>]*maxlength="6">/);
    expect(html).toContain('the one-time code <code>000000</code>');
    // No scripts, no inline styles, and the only stylesheet is the server's own (its CSP: style-src 'self').
    expect(html).not.toMatch(/<script|<style|style=|src="http/);
    expect([...html.matchAll(/<link\b[^>]*>/g)].map((link) => link[0])).toEqual(['<link rel="stylesheet" href="/pages.css">']);
    expect(page.headers.get('content-security-policy')).toContain("style-src 'self'");
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe-inline');
  });
});

describe('DPoP at the token endpoint (RFC 9449)', () => {
  it('when the server is discovered, then it advertises DPoP with ES256 and its two authentication context classes', async () => {
    const metadata = (await discoverAuthorizationServer(stack.devServer.issuer, CLIENT_ID)).serverMetadata();
    expect(metadata.dpop_signing_alg_values_supported).toContain('ES256');
    expect(metadata.acr_values_supported).toEqual(['urn:notes:pwd', 'urn:notes:mfa']);
  });

  it('when the token request carries a proof, then the access token is bound to its key (cnf.jkt, token_type DPoP); without one it is a plain bearer token', async () => {
    const key = await createDpopKey();
    const bound = await authorize(stack);
    const DPoP = client.getDPoPHandle(bound.config, key.keyPair);
    const tokens = await client.authorizationCodeGrant(
      bound.config,
      bound.callbackUrl,
      { pkceCodeVerifier: bound.codeVerifier, expectedState: bound.state },
      undefined,
      { DPoP },
    );
    expect(tokens.token_type).toBe('dpop');
    expect(decodeJwt(tokens.access_token).payload.cnf).toEqual({ jkt: key.jkt });

    const plain = await authorize(stack);
    const bearer = await client.authorizationCodeGrant(plain.config, plain.callbackUrl, { pkceCodeVerifier: plain.codeVerifier, expectedState: plain.state });
    expect(bearer.token_type).toBe('bearer');
    expect(decodeJwt(bearer.access_token).payload).not.toHaveProperty('cnf');
  });

  it('when the code was bound to a key at /auth (dpop_jkt), then exchanging it without a proof, or with a proof by another key, is refused', async () => {
    const key = await createDpopKey();
    const other = await createDpopKey();
    for (const proofKey of [undefined, other]) {
      const { config, codeVerifier, state, callbackUrl } = await authorize(stack, { dpop_jkt: key.jkt });
      const refused = await oauthErrorOf(
        client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: codeVerifier, expectedState: state }, undefined, {
          ...(proofKey ? { DPoP: client.getDPoPHandle(config, proofKey.keyPair) } : {}),
        }),
      );
      expect(refused).toMatchObject({ error: 'invalid_grant', status: 400 });
    }
    expect(stack.logs.join('\n')).toContain('missing DPoP proof JWT');
    expect(stack.logs.join('\n')).toContain('DPoP proof key thumbprint does not match dpop_jkt');

    const { config, codeVerifier, state, callbackUrl } = await authorize(stack, { dpop_jkt: key.jkt });
    const DPoP = client.getDPoPHandle(config, key.keyPair);
    const tokens = await client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: codeVerifier, expectedState: state }, undefined, { DPoP });
    expect(decodeJwt(tokens.access_token).payload.cnf).toEqual({ jkt: key.jkt });
  });
});

describe('max_age and acr_values at /auth (for step-up), auth_time and acr in access tokens', () => {
  const authTimeOf = (tokens: StoredTokens) => decodeJwt(tokens.access_token).payload.auth_time as number;
  const acrOf = (tokens: StoredTokens) => decodeJwt(tokens.access_token).payload.acr;
  /** Credentials that would fail: a sign-in that succeeds with them never showed the login page. */
  const wrongPassword = (user: 'alice' | 'bob') => ({ headless: { user, password: 'not-the-password' } });

  it('when the browser still has a session, then no new login is asked and the token keeps the first auth_time; with a max_age shorter than the age of the login, the user signs in again', async () => {
    const cookies = createCookieJar();
    const first = await signIn(stack, 'alice', { cookies });
    expect(acrOf(first)).toBe('urn:notes:pwd');

    const again = await signIn(stack, 'alice', { cookies, ...wrongPassword('alice') });
    expect(authTimeOf(again)).toBe(authTimeOf(first));

    // oidc-provider counts whole seconds: the login is more than 1 s old from auth_time + 2.
    const wait = (authTimeOf(first) + 2) * 1000 + 100 - Date.now();
    expect(wait).toBeLessThanOrEqual(2200);
    await sleep(Math.max(wait, 0));
    await expect(signIn(stack, 'alice', { cookies, maxAge: 1, ...wrongPassword('alice') })).rejects.toThrow(/Wrong user name or password/);
    const fresh = await signIn(stack, 'alice', { cookies, maxAge: 1 });

    expect(authTimeOf(fresh)).toBeGreaterThan(authTimeOf(first));
  });

  it('when acr_values asks for urn:notes:mfa, then a password-only session is asked to sign in again, and only the one-time code satisfies it', async () => {
    const cookies = createCookieJar();
    await signIn(stack, 'bob', { cookies });
    const mfa = { acrValues: 'urn:notes:mfa' };

    await expect(signIn(stack, 'bob', { cookies, ...mfa })).rejects.toThrow(/refused the sign-in of bob: This app asks for a second factor/);
    await expect(signIn(stack, 'bob', { cookies, ...mfa, headless: { user: 'bob', password: passwordOf('bob'), otp: '999999' } })).rejects.toThrow(
      /Wrong one-time code/,
    );
    const strong = await signIn(stack, 'bob', { cookies, ...mfa, headless: { user: 'bob', password: passwordOf('bob'), otp: DEV_ONE_TIME_CODE } });
    expect(acrOf(strong)).toBe('urn:notes:mfa');
    expect(stack.logs.join('\n')).toContain('sign-in refused for bob: the app asked for a second factor (acr_values) and none was given');

    // The session is multi-factor now: it satisfies either class without a new login.
    for (const acrValues of ['urn:notes:mfa', 'urn:notes:pwd']) {
      const sso = await signIn(stack, 'bob', { cookies, acrValues, ...wrongPassword('bob') });
      expect(acrOf(sso)).toBe('urn:notes:mfa');
      expect(authTimeOf(sso)).toBe(authTimeOf(strong));
    }
  });

  it('when the one-time code is given without being asked for, then the login is multi-factor anyway', async () => {
    const tokens = await signIn(stack, 'alice', { headless: { user: 'alice', password: passwordOf('alice'), otp: DEV_ONE_TIME_CODE } });
    expect(acrOf(tokens)).toBe('urn:notes:mfa');
  });

  it('when acr_values names only classes this server does not know, then they are ignored (a voluntary request) and a password will do', async () => {
    const tokens = await signIn(stack, 'alice', { acrValues: 'urn:example:unknown' });
    expect(acrOf(tokens)).toBe('urn:notes:pwd');
  });
});
