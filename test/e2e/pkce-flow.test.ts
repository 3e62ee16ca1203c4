import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { refreshTokens, validAccessToken } from '../../dev/native-client/access-token.js';
import { listenOnLoopback } from '../../dev/native-client/loopback.js';
import { NotSignedInError, readTokens, saveTokens, type StoredTokens } from '../../dev/native-client/token-store.js';
import { AUDIENCE, CLIENT_ID, decodeJwt, signIn, startDevStack, type DevStack } from './dev-stack.js';

let stack: DevStack;
let alice: StoredTokens;
let bob: StoredTokens;
beforeAll(async () => {
  stack = await startDevStack();
  alice = await signIn(stack, 'alice');
  bob = await signIn(stack, 'bob');
});
afterAll(async () => {
  await stack?.close();
});

const as = (token: string, api = stack.api) => ({
  get: (url: string) => api.request().get(url).auth(token, { type: 'bearer' }),
  post: (url: string, body: object) => api.request().post(url).auth(token, { type: 'bearer' }).send(body),
});
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('steps 1–4: the native app signs in with Authorization Code + PKCE', () => {
  it('when alice signs in headless, then she gets an RS256 at+jwt access token for the API, a refresh token and her identity', async () => {
    expect(alice).toMatchObject({
      issuer: stack.devServer.issuer,
      client_id: CLIENT_ID,
      audience: AUDIENCE,
      subject: 'alice',
      token_type: 'bearer',
      refresh_token: expect.any(String),
      scope: 'read:notes write:notes delete:notes',
    });
    expect(alice.expires_at - nowSeconds()).toBeGreaterThan(590);
    expect(alice.expires_at - nowSeconds()).toBeLessThanOrEqual(600);

    const { header, payload } = decodeJwt(alice.access_token);
    expect(header).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: expect.any(String) });
    expect(payload).toEqual({
      iss: stack.devServer.issuer,
      aud: AUDIENCE,
      sub: 'alice',
      client_id: CLIENT_ID,
      scope: 'read:notes write:notes delete:notes',
      iat: expect.any(Number),
      exp: (payload.iat as number) + 600,
      jti: expect.any(String),
      // The login behind the token, for step-up (RFC 9470): when, and how (a password alone).
      auth_time: expect.any(Number),
      acr: 'urn:notes:pwd',
    });
    expect(payload.auth_time).toBeLessThanOrEqual(payload.iat as number);
    expect(payload.iat as number).toBeLessThanOrEqual(nowSeconds());
  });

  it('when the issuer is discovered, then it is the exact identifier the tokens carry (no trailing slash)', async () => {
    const res = await fetch(`${stack.devServer.issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    const metadata = (await res.json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: stack.devServer.issuer,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
    });
    expect(stack.devServer.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('step 5: the native app calls the API with its access token', () => {
  it('when alice and bob each create a note, then each one lists only their own', async () => {
    const created = await as(alice.access_token).post('/v1/notes', { title: 'Alice via PKCE', body: 'from the dev server' });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`/v1/notes/${created.body.id}`);
    expect(created.body).toMatchObject({ title: 'Alice via PKCE', body: 'from the dev server' });
    const bobs = await as(bob.access_token).post('/v1/notes', { title: 'Bob via PKCE' });
    expect(bobs.status).toBe(201);

    const aliceList = await as(alice.access_token).get('/v1/notes');
    expect(aliceList.status).toBe(200);
    expect(aliceList.headers['cache-control']).toBe('no-store');
    expect(aliceList.body.items.map((note: { title: string }) => note.title)).toEqual(['Alice via PKCE']);
    const bobList = await as(bob.access_token).get('/v1/notes');
    expect(bobList.body.items.map((note: { title: string }) => note.title)).toEqual(['Bob via PKCE']);

    const peek = await as(alice.access_token).get(`/v1/notes/${bobs.body.id}`);
    expect(peek.status).toBe(404);
  });

  it('when the API checks its readiness, then the dev server answers discovery and JWKS (200 /readyz)', async () => {
    const res = await stack.api.request().get('/readyz');
    expect(res.status).toBe(200);
  });

  it('when GET /v1/me is called, then the API sees the user, the native client and the issuer', async () => {
    const res = await as(bob.access_token).get('/v1/me');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      sub: 'bob',
      client_id: CLIENT_ID,
      scopes: ['read:notes', 'write:notes', 'delete:notes'],
      token_type: 'user',
      issuer: stack.devServer.issuer,
    });
  });

  it('when the token is presented to an API with another identifier, then 401 invalid_token (audience)', async () => {
    const otherApi = await stack.startAnotherApi({ audience: 'https://other-api.example.test/' });
    const res = await as(alice.access_token, otherApi).get('/v1/notes');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="notes-api", error="invalid_token", error_description="[^"]+"/);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ error: 'invalid_token', status: 401 });
    expect(res.body.detail).toMatch(/audience/);
  });

  it('when the user granted only read:notes, then POST /v1/notes is 403 insufficient_scope and GET still works', async () => {
    const readOnly = await signIn(stack, 'alice', { scope: 'openid offline_access read:notes' });
    expect(decodeJwt(readOnly.access_token).payload.scope).toBe('read:notes');

    const post = await as(readOnly.access_token).post('/v1/notes', { title: 'not allowed' });
    expect(post.status).toBe(403);
    expect(post.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(post.headers['www-authenticate']).toContain('scope="write:notes"');
    expect(post.body).toMatchObject({ error: 'insufficient_scope', scope: 'write:notes', status: 403 });
    expect((await as(readOnly.access_token).get('/v1/notes')).status).toBe(200);
  });
});

describe('the loopback redirect listener', () => {
  it('when no sign-in arrives in time, then it gives up with a clear message and frees its port', async () => {
    const receiver = await listenOnLoopback({ timeoutMs: 50 });
    expect(receiver.redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    await expect(receiver.callback).rejects.toThrow('no sign-in arrived within 1 s; run the login again');
    await receiver.close();
    await expect(fetch(receiver.redirectUri, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });

  it('when the browser arrives, then it answers a page once and hands over the callback URL', async () => {
    const receiver = await listenOnLoopback({ timeoutMs: 5000 });
    try {
      const first = await fetch(`${receiver.redirectUri}?code=abc&state=xyz`, { signal: AbortSignal.timeout(2000) });
      expect(first.status).toBe(200);
      expect(first.headers.get('cache-control')).toBe('no-store');
      expect(await first.text()).toContain('Signed in. You can close this tab.');
      expect((await receiver.callback).searchParams.get('code')).toBe('abc');
      const again = await fetch(`${receiver.redirectUri}?code=def`, { signal: AbortSignal.timeout(2000) });
      expect(again.status).toBe(409);
      const elsewhere = await fetch(new URL('/favicon.ico', receiver.redirectUri), { signal: AbortSignal.timeout(2000) });
      expect(elsewhere.status).toBe(404);
    } finally {
      await receiver.close();
    }
  });
});

describe('refreshing the access token (rotating refresh tokens)', () => {
  let folder: string;
  beforeAll(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'native-tokens-'));
  });
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('when the saved access token is still valid, then it is returned as it is', async () => {
    const file = path.join(folder, 'valid', 'tokens.json');
    saveTokens(file, alice);
    expect(await validAccessToken({ tokensFile: file })).toBe(alice.access_token);
  });

  it('when the saved access token expires within 30 s, then it is refreshed, the rotated refresh token saved, and the new token works', async () => {
    const tokens = await signIn(stack, 'alice');
    const file = path.join(folder, 'expiring', 'tokens.json');
    saveTokens(file, { ...tokens, expires_at: nowSeconds() + 20 });

    const accessToken = await validAccessToken({ tokensFile: file });

    expect(accessToken).not.toBe(tokens.access_token);
    const saved = readTokens(file);
    expect(saved.access_token).toBe(accessToken);
    expect(saved.refresh_token).toEqual(expect.any(String));
    expect(saved.refresh_token).not.toBe(tokens.refresh_token);
    expect(saved.expires_at - nowSeconds()).toBeGreaterThan(590);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
    expect(decodeJwt(accessToken).payload).toMatchObject({ sub: 'alice', aud: AUDIENCE, scope: 'read:notes write:notes delete:notes' });
    const res = await as(accessToken).get('/v1/me');
    expect(res.status).toBe(200);
    expect(res.body.sub).toBe('alice');
  });

  it('when a refresh token is used a second time, then it is refused and the grant it belongs to is revoked', async () => {
    const tokens = await signIn(stack, 'bob');
    const rotated = await refreshTokens(tokens);
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);

    await expect(refreshTokens(tokens)).rejects.toThrow(NotSignedInError);
    await expect(refreshTokens(tokens)).rejects.toThrow(/invalid_grant/);
    // RFC 9700 §4.14.2: reuse of a rotated refresh token revokes the whole family, the newest one too.
    await expect(refreshTokens(rotated)).rejects.toThrow(/invalid_grant/);
    expect(stack.logs.join('\n')).toContain('refresh token already used');
  });

  it('when there are no saved tokens, then the user is told to sign in', async () => {
    await expect(validAccessToken({ tokensFile: path.join(folder, 'none.json') })).rejects.toThrow(NotSignedInError);
  });
});
