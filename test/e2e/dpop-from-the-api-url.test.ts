import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../dev/authorization-server/index.js';
import { refreshTokens, validTokens } from '../../dev/native-client/access-token.js';
import { callApi } from '../../dev/native-client/api-call.js';
import { discoverAuthorizationServer } from '../../dev/native-client/authorization-server.js';
import { createDpopKey, dpopKeyFileFor, saveDpopKey, type DpopKey } from '../../dev/native-client/dpop-key.js';
import { login } from '../../dev/native-client/pkce-login.js';
import { planSignInFromApi, resourceIdentifiersFor } from '../../dev/native-client/resource-discovery.js';
import { NotSignedInError, saveTokens, type StoredTokens } from '../../dev/native-client/token-store.js';
import { parseWwwAuthenticate } from '../../dev/native-client/www-authenticate.js';
import { startApi } from '../support/api.js';
import { createDpopKey as createTestDpopKey, dpopProof } from '../support/dpop.js';
import {
  ALL_SCOPES,
  API_ENV,
  asTestDpopKey,
  CLIENT_ID,
  decodeJwt,
  passwordOf,
  signInToFile,
  startDevStack,
  tokensFolder,
  type DevStack,
} from './dev-stack.js';

const run = promisify(execFile);

// The API takes only DPoP-bound tokens, and its identifier is the URL clients call it at.
let stack: DevStack;
let folder: ReturnType<typeof tokensFolder>;
beforeAll(async () => {
  stack = await startDevStack({ discoverable: true, apiEnv: { DPOP: 'required' } });
  folder = tokensFolder();
});
afterAll(async () => {
  await stack?.close();
  folder?.remove();
});

const notesUrl = () => `${stack.apiUrl}/v1/notes`;

/** Saves tokens and their key as `npm run login -- --dpop` does; returns the tokens file. */
async function savedWithKey(name: string, tokens: StoredTokens, key: DpopKey): Promise<string> {
  const file = folder.file(name);
  await saveDpopKey(dpopKeyFileFor(file), key);
  saveTokens(file, tokens);
  return file;
}

/** GET /v1/notes on the API (through its front door) with exactly these headers. */
async function getNotes(headers: Record<string, string>) {
  const res = await fetch(notesUrl(), { headers, signal: AbortSignal.timeout(5000) });
  return { status: res.status, challenges: parseWwwAuthenticate(res.headers.get('www-authenticate')), body: (await res.json()) as Record<string, unknown> };
}

function expectProofRefused(res: Awaited<ReturnType<typeof getNotes>>, detail: RegExp) {
  expect(res.status).toBe(401);
  expect(res.challenges).toEqual([
    { scheme: 'DPoP', params: expect.objectContaining({ error: 'invalid_dpop_proof', algs: expect.stringContaining('ES256') }) },
  ]);
  expect(res.body).toMatchObject({ error: 'invalid_dpop_proof', status: 401 });
  expect(res.body.detail).toMatch(detail);
}

describe('a client that knows only the API URL', () => {
  it('when it calls the API without a token, then the 401 challenge leads it to the resource metadata and from there to the issuer', async () => {
    const plan = await planSignInFromApi(stack.apiUrl);

    expect(plan.resource.challenges).toEqual([{ scheme: 'DPoP', params: expect.objectContaining({ resource_metadata: expect.any(String) }) }]);
    expect(plan.resource.metadataUrl).toBe(`${stack.apiUrl}/.well-known/oauth-protected-resource`);
    expect(plan).toMatchObject({
      issuer: stack.devServer.issuer,
      audience: `${stack.apiUrl}/`,
      scope: 'openid offline_access delete:notes read:notes write:notes',
      // Not asked for, but this API takes nothing else (dpop_bound_access_tokens_required).
      dpop: true,
    });
    expect(plan.resource).toMatchObject({ dpopBoundAccessTokensRequired: true, dpopSigningAlgValues: expect.arrayContaining(['ES256']) });
  });

  it('when it signs in as told, then it gets a DPoP-bound token for the API, and GET /v1/notes with a proof is 200', async () => {
    const plan = await planSignInFromApi(stack.apiUrl, { dpop: true });
    const dpopKey = await createDpopKey();

    const tokens = await login({
      issuer: plan.issuer,
      clientId: CLIENT_ID,
      audience: plan.audience,
      scope: plan.scope!,
      dpopKey,
      headless: { user: 'alice', password: passwordOf('alice') },
      timeoutMs: 15_000,
    });

    expect(tokens).toMatchObject({ token_type: 'dpop', dpop_jkt: dpopKey.jkt, audience: `${stack.apiUrl}/`, subject: 'alice' });
    expect(decodeJwt(tokens.access_token).payload).toMatchObject({
      iss: stack.devServer.issuer,
      aud: `${stack.apiUrl}/`,
      cnf: { jkt: dpopKey.jkt },
      scope: 'delete:notes read:notes write:notes',
    });
    const file = await savedWithKey('discovered', { ...tokens, api: stack.apiUrl }, dpopKey);

    const created = await callApi({ tokensFile: file, method: 'POST', target: '/v1/notes', data: JSON.stringify({ title: 'Found my way' }) });
    expect(created.status).toBe(201);
    const listed = await callApi({ tokensFile: file, method: 'GET', target: '/v1/notes' });
    expect(listed.status).toBe(200);
    expect(JSON.parse(listed.body).items.map((note: { title: string }) => note.title)).toEqual(['Found my way']);
  });

  it('when an API points at the metadata of another resource, then the client refuses to use it', async () => {
    // The API itself, not through its front door: its challenge names the front door's metadata, another origin.
    await expect(planSignInFromApi(stack.api.url)).rejects.toThrow(/points at the metadata of another resource/);
  });

  it('when it derives the identifier from a metadata URL, then it takes out the well-known path (RFC 9728 §3.1, §3.3)', () => {
    expect(resourceIdentifiersFor(new URL('https://api.example.com/.well-known/oauth-protected-resource'))).toEqual([
      'https://api.example.com',
      'https://api.example.com/',
    ]);
    expect(resourceIdentifiersFor(new URL('https://api.example.com/.well-known/oauth-protected-resource/notes/v1'))).toEqual([
      'https://api.example.com/notes/v1',
    ]);
  });

  it('when a WWW-Authenticate field holds several challenges, then each keeps its own parameters', () => {
    const field =
      'Bearer realm="notes-api", error="invalid_token", error_description="a \\"quoted\\", comma", ' +
      'DPoP algs="ES256 PS256", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource", Basic dXNlcjpwYXNz==';
    expect(parseWwwAuthenticate(field)).toEqual([
      { scheme: 'Bearer', params: { realm: 'notes-api', error: 'invalid_token', error_description: 'a "quoted", comma' } },
      { scheme: 'DPoP', params: { algs: 'ES256 PS256', resource_metadata: 'https://api.example.com/.well-known/oauth-protected-resource' } },
      { scheme: 'Basic', params: {}, token68: 'dXNlcjpwYXNz==' },
    ]);
    expect(() => parseWwwAuthenticate('Bearer realm="unterminated')).toThrow(SyntaxError);
  });
});

describe('DPoP proofs with a real DPoP-bound token (DPOP=required)', () => {
  let tokens: StoredTokens;
  let dpopKey: DpopKey;
  beforeAll(async () => {
    ({ tokens, dpopKey } = (await signInToFile(stack, 'bob', folder.file('proofs'), { dpop: true })) as { tokens: StoredTokens; dpopKey: DpopKey });
  });
  const proof = (request: { method?: string; url?: string; accessToken?: string } = {}, overrides: Parameters<typeof dpopProof>[2] = {}) =>
    dpopProof(
      asTestDpopKey(dpopKey),
      { method: request.method ?? 'GET', url: request.url ?? notesUrl(), accessToken: request.accessToken ?? tokens.access_token },
      overrides,
    );
  const withProof = async (dpop: string) => getNotes({ Authorization: `DPoP ${tokens.access_token}`, DPoP: dpop });

  it('when the proof is right, then 200', async () => {
    expect((await withProof(await proof())).status).toBe(200);
  });

  it('when the proof was made for another URL, then 401 invalid_dpop_proof', async () => {
    expectProofRefused(await withProof(await proof({ url: `${stack.apiUrl}/v1/me` })), /another URL/);
  });

  it('when the proof was made for another method, then 401 invalid_dpop_proof', async () => {
    expectProofRefused(await withProof(await proof({ method: 'POST' })), /another HTTP method/);
  });

  it('when the proof is stale (iat 10 minutes ago), then 401 invalid_dpop_proof', async () => {
    expectProofRefused(await withProof(await proof({}, { claims: { iat: Math.floor(Date.now() / 1000) - 600 } })), /too old/);
  });

  it('when the proof hashes another access token (ath), then 401 invalid_dpop_proof', async () => {
    expectProofRefused(await withProof(await proof({ accessToken: 'some-other-token' })), /another access token/);
  });

  it('when a proof is replayed, then the second use is refused', async () => {
    const once = await proof();
    expect((await withProof(once)).status).toBe(200);
    expectProofRefused(await withProof(once), /used before/);
  });

  it('when the proof is signed by another key than the token is bound to (cnf.jkt), then 401', async () => {
    const other = await createTestDpopKey();
    const res = await withProof(await dpopProof(other, { method: 'GET', url: notesUrl(), accessToken: tokens.access_token }));
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(/another key/);
  });

  it('when the bound token is sent as Bearer, then 401 with only a DPoP challenge: this API takes no bearer tokens', async () => {
    const res = await getNotes({ Authorization: `Bearer ${tokens.access_token}` });
    expect(res.status).toBe(401);
    expect(res.challenges.map((challenge) => challenge.scheme)).toEqual(['DPoP']);
    expect(res.challenges[0]!.params.error).toBeUndefined();
  });

  it('when the bound token is sent as Bearer to an API that takes both (DPOP=allowed), then 401 invalid_token', async () => {
    const both = await stack.startAnotherApi({ env: { DPOP: 'allowed' } });
    const res = await both.request().get('/v1/notes').set('Authorization', `Bearer ${tokens.access_token}`);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: 'invalid_token' });
    expect(res.body.detail).toMatch(/DPoP-bound/);
  });

  describe('a token from an issuer the API does not trust', () => {
    let other: DevAuthorizationServer;
    let otherData: string;
    beforeAll(async () => {
      otherData = fs.mkdtempSync(path.join(os.tmpdir(), 'other-issuer-'));
      other = await startDevAuthorizationServer({ port: 0, audience: stack.audience, dataDir: otherData, log: () => undefined });
    });
    afterAll(async () => {
      await other?.close();
      fs.rmSync(otherData, { recursive: true, force: true });
    });
    const signInAtOther = (user: 'alice' | 'bob', dpopKey: Awaited<ReturnType<typeof createDpopKey>>) =>
      login({
        issuer: other.issuer,
        clientId: CLIENT_ID,
        audience: stack.audience,
        scope: ALL_SCOPES,
        dpopKey,
        headless: { user, password: passwordOf(user) },
        timeoutMs: 15_000,
      });

    it('when a second development server issues a DPoP-bound token for the same API, then the API refuses it (401 invalid_token)', async () => {
      const key = await createDpopKey();
      const foreign = await signInAtOther('alice', key);
      expect(decodeJwt(foreign.access_token).payload).toMatchObject({ iss: other.issuer, aud: stack.audience, cnf: { jkt: key.jkt } });

      const res = await getNotes({
        Authorization: `DPoP ${foreign.access_token}`,
        DPoP: await dpopProof(asTestDpopKey(key), { method: 'GET', url: notesUrl(), accessToken: foreign.access_token }),
      });

      expect(res.status).toBe(401);
      expect(res.challenges[0]).toMatchObject({ scheme: 'DPoP', params: { error: 'invalid_token' } });
      // With one issuer the library checks the signature (against the trusted issuer's keys) before `iss`.
      expect(res.body.detail).toMatch(/authorization server this API does not trust|signed with a key this API does not know/);
    });

    it('when the API lists both servers (ISSUER_BASE_URL with two issuers), then the same kind of token from the second is accepted', async () => {
      const both = await startApi({ url: `${stack.devServer.issuer},${other.issuer}`, audience: stack.audience }, { ...API_ENV, DPOP: 'required' });
      try {
        const key = await createDpopKey();
        const second = await signInAtOther('bob', key);
        const res = await callApi({ tokensFile: await savedWithKey('second-issuer', second, key), api: both.url, method: 'GET', target: '/v1/me' });
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body)).toMatchObject({ sub: 'bob', issuer: other.issuer });
      } finally {
        await both.close();
      }
    });
  });
});

describe('refreshing a DPoP-bound token', () => {
  it('when it is refreshed with its key, then the new token is bound to the same key and works; another key or none is refused', async () => {
    const file = folder.file('refresh');
    const { tokens, dpopKey } = (await signInToFile(stack, 'alice', file, { dpop: true })) as { tokens: StoredTokens; dpopKey: DpopKey };
    expect(tokens.refresh_token).toEqual(expect.any(String));

    // The refresh token of this public client is bound to the key too (RFC 9449 §5): a proof by another key fails…
    const otherKey = await createDpopKey();
    const stolen = refreshTokens({ ...tokens, dpop_jkt: null }, { dpopKey: otherKey });
    await expect(stolen).rejects.toThrow(NotSignedInError);
    await expect(stolen).rejects.toThrow(/invalid_grant/);
    // … and so does no proof at all.
    const config = await discoverAuthorizationServer(stack.devServer.issuer, CLIENT_ID);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(stack.logs.join('\n')).toContain('failed jkt verification');

    // The saved tokens expire within 30 s: the client refreshes them with the key kept beside them.
    saveTokens(file, { ...tokens, expires_at: Math.floor(Date.now() / 1000) + 20 });
    const { tokens: refreshed, dpopKey: keyUsed } = await validTokens({ tokensFile: file });

    expect(keyUsed?.jkt).toBe(dpopKey.jkt);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed).toMatchObject({ token_type: 'dpop', dpop_jkt: dpopKey.jkt });
    expect(decodeJwt(refreshed.access_token).payload).toMatchObject({
      cnf: { jkt: dpopKey.jkt },
      // A refresh is no new login: the token keeps the time and class of the sign-in.
      auth_time: decodeJwt(tokens.access_token).payload.auth_time,
      acr: 'urn:notes:pwd',
    });
    expect((await callApi({ tokensFile: file, api: stack.apiUrl, method: 'GET', target: '/v1/notes' })).status).toBe(200);
  });
});

describe('the command-line client', () => {
  const tsx = (script: string, args: string[]) =>
    run(process.execPath, ['--import', 'tsx', script, ...args], { timeout: 30_000, env: { ...process.env, NODE_NO_WARNINGS: '1' } });

  it('when `npm run -s token` runs with DPoP-bound tokens, then it prints the access token and nothing else', async () => {
    const file = folder.file('token-cli');
    const { tokens } = await signInToFile(stack, 'alice', file, { dpop: true });
    const { stdout } = await tsx('dev/native-client/token.ts', ['--tokens-file', file]);
    expect(stdout).toBe(`${tokens.access_token}\n`);
  }, 40_000);

  it('when `call` runs, then it sends the DPoP token with a fresh proof and prints the status line and the body', async () => {
    const file = folder.file('call-cli');
    await signInToFile(stack, 'alice', file, { dpop: true });
    const { stdout } = await tsx('dev/native-client/call.ts', ['GET', '/v1/notes', '--api', stack.apiUrl, '--tokens-file', file]);
    expect(stdout).toMatch(/^HTTP\/1\.1 200 OK\n\{\n {2}"items": \[/);
  }, 40_000);

  it('when `call --print-curl` runs, then it prints curl headers that work once: the proof is for this request only', async () => {
    const file = folder.file('curl-cli');
    const { tokens } = await signInToFile(stack, 'alice', file, { dpop: true });

    const { stdout } = await tsx('dev/native-client/call.ts', ['--print-curl', 'GET', '/v1/notes', '--api', stack.apiUrl, '--tokens-file', file]);

    expect(stdout).toMatch(new RegExp(`^curl -sS -X GET -H 'Authorization: DPoP ${tokens.access_token}' -H 'DPoP: [\\w-]+\\.[\\w-]+\\.[\\w-]+' ${notesUrl()}\\n$`));
    const headers = Object.fromEntries([...stdout.matchAll(/-H '([^:]+): ([^']+)'/g)].map(([, name, value]) => [name!, value!]));
    expect((await getNotes(headers)).status).toBe(200);
    expectProofRefused(await getNotes(headers), /used before/);
  }, 40_000);

  it('when `login --api URL --dpop` runs, then it discovers the issuer from the API and saves DPoP-bound tokens beside their key', async () => {
    const file = folder.file('login-cli');
    const { stdout } = await tsx('dev/native-client/login.ts', [
      '--api',
      stack.apiUrl,
      '--dpop',
      '--user',
      'bob',
      '--password',
      passwordOf('bob'),
      '--tokens-file',
      file,
    ]);
    expect(stdout).toContain(`The API is the protected resource ${stack.apiUrl}/ (metadata ${stack.apiUrl}/.well-known/oauth-protected-resource)`);
    expect(stdout).toContain(`tokens for it come from ${stack.devServer.issuer}`);
    const { tokens, dpopKey } = await validTokens({ tokensFile: file });
    expect(tokens).toMatchObject({ subject: 'bob', token_type: 'dpop', api: stack.apiUrl, dpop_jkt: dpopKey?.jkt });
    expect(fs.statSync(path.join(path.dirname(file), 'dpop-key.json')).mode & 0o777).toBe(0o600);
    expect((await callApi({ tokensFile: file, method: 'GET', target: '/v1/me' })).status).toBe(200);
  }, 40_000);
});
