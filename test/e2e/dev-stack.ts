import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as jose from 'jose';
import type { ClientMetadata } from 'oidc-provider';
import * as client from 'openid-client';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../dev/authorization-server/index.js';
import { DOCS_CLIENT_ID } from '../../dev/authorization-server/provider-config.js';
import { discoverAuthorizationServer } from '../../dev/native-client/authorization-server.js';
import { createDpopKey, dpopKeyFileFor, saveDpopKey, type DpopKey } from '../../dev/native-client/dpop-key.js';
import { signInHeadless } from '../../dev/native-client/headless.js';
import { authorizationParameters, login, type LoginOptions } from '../../dev/native-client/pkce-login.js';
import { saveTokens, type StoredTokens } from '../../dev/native-client/token-store.js';
import type { DpopKey as TestDpopKey } from '../support/dpop.js';
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
  /** The API identifier: the `aud` of the tokens, the API's AUDIENCE. */
  audience: string;
  /** The URL clients call the API at: `api.url`, or the front door's when the stack is `discoverable`. */
  apiUrl: string;
  dataDir: string;
  /** What the dev server logged. */
  logs: string[];
  /** Stops the dev server and starts it again on the same port with the same data folder (same issuer). */
  restartDevServer(): Promise<void>;
  /** A second API instance that trusts the same issuer, started afresh (it fetches the JWKS anew). */
  startAnotherApi(overrides?: { audience?: string; env?: Record<string, string> }): Promise<TestApi>;
  close(): Promise<void>;
}

export interface DevStackOptions {
  /** Settings of the API over `API_ENV`, e.g. `{ DPOP: 'required' }` or `{ STEP_UP_MAX_AGE: '2' }`. */
  apiEnv?: Record<string, string>;
  /**
   * Puts the API behind a front door on loopback whose URL is known before the API starts, and makes that URL (with
   * a trailing slash) the API identifier, as a deployed API's is its public URL: its 401 challenges then point at
   * metadata a client can fetch, so a client can start from nothing but `apiUrl`.
   */
  discoverable?: boolean;
  /**
   * Registers the docs page's client at the dev server for the API's origin (as `npm start` does), and lets the API's
   * `/docs` sign in with it (`DOCS_CLIENT_ID`; its tokens allowed beside the native app's). Implies `discoverable`:
   * the API's origin must be known before the dev server starts.
   */
  docsPage?: boolean;
  /** More confidential clients at the dev server (the API's own, `notes-api`, is always there). */
  extraClients?: readonly ClientMetadata[];
}

/** The secret of the API's client at the dev server in these runs: the same across a restart of the dev server. */
const API_CLIENT_SECRET = 'dev-stack-api-client-secret';

export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-issuer-'));
  const logs: string[] = [];
  const frontDoor = options.discoverable || options.docsPage ? await startFrontDoor() : undefined;
  const audience = frontDoor ? `${frontDoor.url}/` : AUDIENCE;
  const docsOrigin = options.docsPage ? frontDoor!.url : undefined;
  const docsEnv: Record<string, string> = options.docsPage ? { DOCS_CLIENT_ID, ALLOWED_CLIENT_IDS: `${CLIENT_ID},${DOCS_CLIENT_ID}` } : {};
  const start = (port: number) =>
    startDevAuthorizationServer({
      port,
      audience,
      dataDir,
      log: (line) => logs.push(line),
      apiClientSecret: API_CLIENT_SECRET,
      ...(options.extraClients ? { extraClients: options.extraClients } : {}),
      ...(docsOrigin ? { docsOrigin } : {}),
    });
  let devServer = await start(0);
  const apis: TestApi[] = [];
  const startAnotherApi = async (overrides: { audience?: string; env?: Record<string, string> } = {}) => {
    const issuer = { url: devServer.issuer, audience: overrides.audience ?? audience, introspectionClient: devServer.introspectionClient };
    const api = await startApi(issuer, { ...API_ENV, ...docsEnv, ...options.apiEnv, ...overrides.env });
    apis.push(api);
    return api;
  };
  const api = await startAnotherApi();
  frontDoor?.forwardTo(api.url);
  return {
    get devServer() {
      return devServer;
    },
    api,
    audience,
    apiUrl: frontDoor?.url ?? api.url,
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
      await frontDoor?.close();
      await devServer.close();
      for (const each of apis) await each.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A reverse proxy on 127.0.0.1 (a free port) that passes every request on to the API unchanged, its `Host` header
 * included: the API sees the URL the client used, as behind a load balancer that keeps `Host`.
 */
async function startFrontDoor(): Promise<{ url: string; forwardTo(target: string): void; close(): Promise<void> }> {
  let target: URL | undefined;
  const agent = new http.Agent({ keepAlive: false });
  const server = http.createServer((req, res) => {
    if (!target) return void res.writeHead(503).end();
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.setTimeout(10_000, () => upstream.destroy(new Error('the API did not answer in time')));
    upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forwardTo(url) {
      target = new URL(url);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export const passwordOf = (user: DevUserName) => `${user}-dev-password`;

/** Steps 1–4 as the native app does them, headless: the real client library against the dev server. */
export function signIn(stack: DevStack, user: DevUserName, overrides: Partial<LoginOptions> = {}): Promise<StoredTokens> {
  return login({
    issuer: stack.devServer.issuer,
    clientId: CLIENT_ID,
    audience: stack.audience,
    scope: ALL_SCOPES,
    headless: { user, password: passwordOf(user) },
    timeoutMs: 15_000,
    ...overrides,
  });
}

/**
 * Signs in as `npm run login` does (with `dpop`, as `--dpop`: a new key, the tokens bound to it) and saves the tokens
 * to `tokensFile`, the key beside them.
 */
export async function signInToFile(
  stack: DevStack,
  user: DevUserName,
  tokensFile: string,
  options: { dpop?: boolean } & Partial<LoginOptions> = {},
): Promise<{ tokens: StoredTokens; dpopKey?: DpopKey }> {
  const { dpop, ...overrides } = options;
  const dpopKey = dpop ? await createDpopKey() : undefined;
  const tokens = await signIn(stack, user, { ...(dpopKey ? { dpopKey } : {}), ...overrides });
  if (dpopKey) await saveDpopKey(dpopKeyFileFor(tokensFile), dpopKey);
  saveTokens(tokensFile, tokens);
  return { tokens, ...(dpopKey ? { dpopKey } : {}) };
}

/** The native client's DPoP key in the form the test kit's proof maker (`test/support/dpop.ts`) takes. */
export const asTestDpopKey = (key: DpopKey): TestDpopKey => ({ privateKey: key.keyPair.privateKey, publicJwk: key.publicJwk, jkt: key.jkt });

/** A folder for one test file's token files, removed by `remove()`. */
export function tokensFolder(): { file(name: string): string; remove(): void } {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'native-tokens-'));
  return { file: (name) => path.join(folder, name, 'tokens.json'), remove: () => fs.rmSync(folder, { recursive: true, force: true }) };
}

/** Waits `ms` milliseconds (the step-up tests wait for a login to age). */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
      audience: stack.audience,
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
