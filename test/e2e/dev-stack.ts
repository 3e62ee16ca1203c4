import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as jose from 'jose';
import * as client from 'openid-client';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../dev/authorization-server/index.js';
import { discoverAuthorizationServer } from '../../dev/native-client/authorization-server.js';
import { signInHeadless } from '../../dev/native-client/headless.js';
import { authorizationParameters, login, type LoginOptions } from '../../dev/native-client/pkce-login.js';
import type { StoredTokens } from '../../dev/native-client/token-store.js';
import { startApi, type TestApi } from '../support/api.js';

/** The API identifier the end-to-end runs use: the dev server's only resource, the API's AUDIENCE. */
export const AUDIENCE = 'https://notes.example.test/api';
export const CLIENT_ID = 'notes-native-app';
export const ALL_SCOPES = 'openid offline_access read:notes write:notes delete:notes';
export type DevUserName = 'alice' | 'bob';

/** The API settings of these runs: strict RFC 9068 tokens, RS256 only, and only the native app may call. */
export const API_ENV = { TOKEN_SIGNING_ALGS: 'RS256', STRICT_RFC9068: 'true', ALLOWED_CLIENT_IDS: CLIENT_ID, JWKS_COOLDOWN_MS: '0' };

/** The development authorization server on 127.0.0.1 (a free port, a temp data folder) and the API trusting it. */
export interface DevStack {
  devServer: DevAuthorizationServer;
  api: TestApi;
  dataDir: string;
  /** What the dev server logged. */
  logs: string[];
  /** Stops the dev server and starts it again on the same port with the same data folder (same issuer). */
  restartDevServer(): Promise<void>;
  /** A second API instance that trusts the same issuer, started afresh (it fetches the JWKS anew). */
  startAnotherApi(overrides?: { audience?: string }): Promise<TestApi>;
  close(): Promise<void>;
}

export async function startDevStack(): Promise<DevStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-issuer-'));
  const logs: string[] = [];
  const start = (port: number) => startDevAuthorizationServer({ port, audience: AUDIENCE, dataDir, log: (line) => logs.push(line) });
  let devServer = await start(0);
  const apis: TestApi[] = [];
  const startAnotherApi = async (overrides: { audience?: string } = {}) => {
    const api = await startApi({ url: devServer.issuer, audience: overrides.audience ?? AUDIENCE }, API_ENV);
    apis.push(api);
    return api;
  };
  const api = await startAnotherApi();
  return {
    get devServer() {
      return devServer;
    },
    api,
    dataDir,
    logs,
    async restartDevServer() {
      await devServer.close();
      // Lets fetch's pool in this process read the end of its keep-alive connections to the old server; otherwise
      // its next request may go out on one of them and fail with "other side closed".
      await new Promise((resolve) => setTimeout(resolve, 50));
      devServer = await start(Number(new URL(devServer.issuer).port));
    },
    startAnotherApi,
    async close() {
      await devServer.close();
      for (const each of apis) await each.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const passwordOf = (user: DevUserName) => `${user}-dev-password`;

/** Steps 1–4 as the native app does them, headless: the real client library against the dev server. */
export function signIn(stack: DevStack, user: DevUserName, overrides: Partial<LoginOptions> = {}): Promise<StoredTokens> {
  return login({
    issuer: stack.devServer.issuer,
    clientId: CLIENT_ID,
    audience: AUDIENCE,
    scope: ALL_SCOPES,
    headless: { user, password: passwordOf(user) },
    timeoutMs: 15_000,
    ...overrides,
  });
}

/** A redirect URI on a loopback port nobody listens on: the callback URL is caught before it is delivered. */
export const UNUSED_LOOPBACK_REDIRECT = 'http://127.0.0.1:53682/callback';

/**
 * Steps 1–2 only: sends an authorization request (any parameter replaced, or removed when `undefined`) and signs
 * in headless, returning where the server redirected with the code (or an error), not yet exchanged.
 */
export async function authorize(
  stack: DevStack,
  overrides: Record<string, string | undefined> = {},
  options: { user?: DevUserName; redirectUri?: string } = {},
) {
  const { user = 'alice', redirectUri = UNUSED_LOOPBACK_REDIRECT } = options;
  const config = await discoverAuthorizationServer(stack.devServer.issuer, CLIENT_ID);
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(
    config,
    authorizationParameters({
      redirectUri,
      scope: ALL_SCOPES,
      state,
      codeChallenge: await client.calculatePKCECodeChallenge(codeVerifier),
      audience: AUDIENCE,
    }),
  );
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) url.searchParams.delete(name);
    else url.searchParams.set(name, value);
  }
  const callbackUrl = await signInHeadless(url, { user, password: passwordOf(user) }, { redirectUri });
  return { config, codeVerifier, state, callbackUrl };
}

/** The decoded header and payload of a JWT, unverified (the API verifies; tests look). */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  return { header: jose.decodeProtectedHeader(token), payload: jose.decodeJwt(token) };
}
