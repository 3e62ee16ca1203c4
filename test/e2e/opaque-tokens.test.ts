import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import * as client from 'openid-client';
import { OPAQUE_NATIVE_CLIENT } from '../../dev/authorization-server/provider-config.js';
import { discoverAuthorizationServer } from '../../dev/native-client/authorization-server.js';
import { expectSameAnswerForBothFormats, seenOf, type FormatCase } from '../support/same-answer.js';
import { createDpopKey as createClientDpopKey } from '../../dev/native-client/dpop-key.js';
import type { TestApi } from '../support/api.js';
import { createDpopKey, dpopProof, type DpopKey } from '../support/dpop.js';
import { asTestDpopKey, CLIENT_ID, signIn, sleep, startDevStack, type DevStack } from './dev-stack.js';

// The development server issuing opaque tokens (to notes-native-app-opaque) beside JWTs (to notes-native-app): one
// table of cases, each run with both, must give the same answers; then revocation and each client authentication.
const POST_CLIENT = { client_id: 'notes-api-post', client_secret: 'notes-api-post-secret', token_endpoint_auth_method: 'client_secret_post' };
let stack: DevStack;
let otherAudienceApi: TestApi;
let keyFolder: string;
let jwksServer: http.Server;
let jwtClientKey: Awaited<ReturnType<typeof generateKeyPair>>;
const tokens = {} as Record<Format, { full: string; readOnly: string; bound: string; boundKey: DpopKey }>;
type Format = 'jwt' | 'opaque';

beforeAll(async () => {
  jwtClientKey = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = { ...(await exportJWK(jwtClientKey.publicKey)), kid: 'api-key-1', alg: 'ES256', use: 'sig' };
  // Published at a jwks_uri, as a deployed API would: oidc-provider takes an inline `jwks` only as objects of its own realm.
  jwksServer = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] })));
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
  stack = await startDevStack({
    apiEnv: { ALLOWED_CLIENT_IDS: `${CLIENT_ID},${OPAQUE_NATIVE_CLIENT.client_id}`, INTROSPECTION_CACHE_SECONDS: '1' },
    extraClients: [
      { ...POST_CLIENT, grant_types: [], response_types: [], redirect_uris: [] },
      { client_id: 'notes-api-jwt', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUri, grant_types: [], response_types: [], redirect_uris: [] },
    ],
  });
  otherAudienceApi = await stack.startAnotherApi({ audience: 'https://other.example.test/api' });
  keyFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'introspection-key-'));
  for (const format of ['jwt', 'opaque'] as const) {
    const clientId = format === 'jwt' ? CLIENT_ID : OPAQUE_NATIVE_CLIENT.client_id;
    const dpopKey = await createClientDpopKey();
    tokens[format] = {
      full: (await signIn(stack, 'alice', { clientId })).access_token,
      readOnly: (await signIn(stack, 'alice', { clientId, scope: 'openid read:notes' })).access_token,
      bound: (await signIn(stack, 'alice', { clientId, dpopKey })).access_token,
      boundKey: asTestDpopKey(dpopKey),
    };
  }
}, 60_000);
afterAll(async () => {
  await stack.close();
  jwksServer.close();
  fs.rmSync(keyFolder, { recursive: true, force: true });
});

it('when signed in with the opaque client, then the access token is not a JWT', () => {
  expect(tokens.opaque.full.split('.')).toHaveLength(1);
  expect(tokens.jwt.full.split('.')).toHaveLength(3);
});

interface Case extends FormatCase {
  token: (format: Format) => string;
  method?: 'get' | 'post' | 'delete';
  path?: string;
  api?: () => TestApi;
  /** `own-key`: DPoP scheme with a proof by the token's key; `other-key`: by another key. */
  send?: 'bearer' | 'own-key' | 'other-key';
}

const cases: Case[] = [
  { title: 'a valid token on GET /v1/me', token: (f) => tokens[f].full, expected: { status: 200 } },
  { title: 'a valid token on GET /v1/notes', token: (f) => tokens[f].full, path: '/v1/notes', expected: { status: 200 } },
  { title: 'a valid token on POST /v1/notes', token: (f) => tokens[f].full, method: 'post', path: '/v1/notes', expected: { status: 201 } },
  { title: 'a valid token on DELETE of a note that is not there', token: (f) => tokens[f].full, method: 'delete', path: '/v1/notes/00000000-0000-4000-8000-000000000000', expected: { status: 404 } },
  {
    title: 'a token without write:notes on POST /v1/notes',
    token: (f) => tokens[f].readOnly,
    method: 'post',
    path: '/v1/notes',
    expected: { status: 403, error: 'insufficient_scope', scope: 'write:notes' },
  },
  { title: 'a token for another API (audience)', token: (f) => tokens[f].full, api: () => otherAudienceApi, expected: { status: 401, error: 'invalid_token' } },
  { title: 'a DPoP-bound token with its proof', token: (f) => tokens[f].bound, send: 'own-key', expected: { status: 200 } },
  { title: 'a DPoP-bound token without a proof (as Bearer)', token: (f) => tokens[f].bound, expected: { status: 401, error: 'invalid_token' } },
  { title: 'a DPoP-bound token with a proof by another key', token: (f) => tokens[f].bound, send: 'other-key', expected: { status: 401, error: 'invalid_token' } },
];

async function run(format: Format, testCase: Case) {
  const { method = 'get', path: route = '/v1/me', send = 'bearer' } = testCase;
  const api = testCase.api?.() ?? stack.api;
  const token = testCase.token(format);
  let request = api.request()[method](route);
  if (method === 'post') request = request.send({ title: 'one', body: 'two' });
  if (send === 'bearer') return request.set('Authorization', `Bearer ${token}`);
  const key = send === 'own-key' ? tokens[format].boundKey : await createDpopKey();
  const proof = await dpopProof(key, { method: method.toUpperCase(), url: `${api.url}${route}`, accessToken: token });
  return request.set('Authorization', `DPoP ${token}`).set('DPoP', proof);
}

expectSameAnswerForBothFormats(cases, run);

describe('revocation', () => {
  it('when the app revokes its opaque token (RFC 7009), then the API refuses it once its cached answer ends, as it refuses a forged token', async () => {
    const token = (await signIn(stack, 'bob', { clientId: OPAQUE_NATIVE_CLIENT.client_id })).access_token;
    const me = () => stack.api.request().get('/v1/me').auth(token, { type: 'bearer' });
    expect((await me()).status).toBe(200);
    const config = await discoverAuthorizationServer(stack.devServer.issuer, OPAQUE_NATIVE_CLIENT.client_id);
    await client.tokenRevocation(config, token, { token_type_hint: 'access_token' });
    await sleep(1100);
    const [revoked, forged] = [await me(), await stack.api.request().get('/v1/me').auth('no-such-token-at-this-issuer', { type: 'bearer' })];
    expect(revoked.status).toBe(401);
    expect(seenOf(revoked)).toEqual(seenOf(forged));
  });
});

describe('client authentication at the introspection endpoint', () => {
  const methods: Array<{ method: string; key: 'a JWK file' | 'a PEM file' | 'a secret'; env: Record<string, string> }> = [
    { method: 'client_secret_basic', key: 'a secret', env: {} },
    { method: 'client_secret_post', key: 'a secret', env: { INTROSPECTION_CLIENT_ID: POST_CLIENT.client_id, INTROSPECTION_CLIENT_SECRET: POST_CLIENT.client_secret } },
    { method: 'private_key_jwt', key: 'a JWK file', env: { INTROSPECTION_CLIENT_ID: 'notes-api-jwt' } },
    { method: 'private_key_jwt', key: 'a PEM file', env: { INTROSPECTION_CLIENT_ID: 'notes-api-jwt' } },
  ];
  it.each(methods)('when the API authenticates with $method ($key), then the server answers and the opaque token is accepted', async ({ method, key, env }) => {
    const keyFile = path.join(keyFolder, key === 'a PEM file' ? 'key.pem' : 'key.json');
    if (key === 'a PEM file') fs.writeFileSync(keyFile, await exportPKCS8(jwtClientKey.privateKey), { mode: 0o600 });
    else fs.writeFileSync(keyFile, JSON.stringify({ ...(await exportJWK(jwtClientKey.privateKey)), kid: 'api-key-1' }), { mode: 0o600 });
    const settings = { ...env, ...(key === 'a secret' ? {} : { INTROSPECTION_PRIVATE_KEY_FILE: keyFile }), INTROSPECTION_CLIENT_AUTH: method };
    const api = await stack.startAnotherApi({ env: settings });
    const res = await api.request().get('/v1/me').auth(tokens.opaque.full, { type: 'bearer' });
    expect(res.status).toBe(200);
    expect(res.body.sub).toBe('alice');
    expect(await api.metrics.registry.getSingleMetricAsString('introspections_total')).toMatch(/outcome="active"\} 1/);
  });
});
