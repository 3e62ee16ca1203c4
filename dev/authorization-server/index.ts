import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { randomBytes } from 'node:crypto';
import type { ClientMetadata, OIDCProviderError } from 'oidc-provider';
import { interactionsRouter } from './interactions.js';
import { loadOrCreateSigningKeys } from './keys.js';
import { importOidcProvider } from './load-provider.js';
import { API_CLIENT_ID, DOCS_CLIENT_ID, docsRedirectUri, NATIVE_CLIENT, OPAQUE_NATIVE_CLIENT, providerConfiguration } from './provider-config.js';
import { createDevStore } from './store.js';
import { STYLESHEET, STYLESHEET_PATH } from './views.js';

/** A running development authorization server. */
export interface DevAuthorizationServer {
  /** The issuer identifier, e.g. `http://127.0.0.1:4000` (no trailing slash): the `iss` of its tokens. */
  issuer: string;
  /** The client id of the API's docs page, when `docsOrigin` was given. */
  docsClientId: string | undefined;
  /** The API's confidential client (`client_secret_basic`), for introspecting opaque tokens; a new secret each start. */
  introspectionClient: { clientId: string; clientSecret: string };
  close(): Promise<void>;
}

export interface DevAuthorizationServerOptions {
  /** A loopback address to listen on; default `127.0.0.1`. */
  host?: string;
  /** Default 4000; 0 picks a free port. */
  port?: number;
  /** The API identifier: the `aud` of every access token, and the only `resource`/`audience` accepted. */
  audience: string;
  /** Where the signing keys (`jwks.json`) and refresh tokens (`grants.json`) are kept, both 0600. */
  dataDir: string;
  /**
   * The API's origin (its `PUBLIC_URL`, e.g. `http://127.0.0.1:3000`): registers the public client of its docs page,
   * `notes-api-docs`, with the redirect URI `{origin}/docs/oauth2-redirect.html`, and allows that origin (only) to
   * call the token endpoint from a browser (CORS).
   */
  docsOrigin?: string;
  /** The API client's secret; default: a new one each start. */
  apiClientSecret?: string;
  /** More confidential clients (tests: `client_secret_post`, `private_key_jwt`). */
  extraClients?: readonly ClientMetadata[];
  /** Receives one line per notable event; default: the console. */
  log?: (line: string) => void;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Starts a local OpenID provider (oidc-provider) for development and tests: Authorization Code + PKCE (S256) for
 * the public native client `notes-native-app`, RS256 JWT access tokens (`typ: at+jwt`) for `audience` (DPoP-bound
 * when the token request carries a proof; with `auth_time` and `acr`), `max_age` and `acr_values` honoured, and two
 * users, alice and bob, with the one-time code 000000 as second factor. It only listens on loopback: its passwords
 * are public.
 *
 * @example
 * const server = await startDevAuthorizationServer({ audience: 'http://127.0.0.1:3000/', dataDir: 'data/dev-issuer' });
 * console.log(server.issuer); // http://127.0.0.1:4000
 */
export async function startDevAuthorizationServer(options: DevAuthorizationServerOptions): Promise<DevAuthorizationServer> {
  const { host = '127.0.0.1', port = 4000, audience, dataDir, docsOrigin } = options;
  const log = options.log ?? ((line: string) => console.log(`dev authorization server: ${line}`));
  if (!LOOPBACK_HOSTS.has(host)) throw new TypeError(`host must be a loopback address (127.0.0.1, ::1 or localhost), not ${host}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError('port must be an integer from 0 to 65535');
  if (!URL.canParse(audience) || audience.includes('#')) {
    throw new TypeError('audience must be an absolute URI without a fragment (RFC 8707 §2), e.g. http://127.0.0.1:3000/');
  }
  if (!dataDir) throw new TypeError('dataDir is required');
  if (docsOrigin !== undefined && !/^https?:\/\/[^/]/i.test(docsOrigin)) throw new TypeError('docsOrigin must be an http(s) origin, e.g. http://127.0.0.1:3000');

  const keys = await loadOrCreateSigningKeys(dataDir, log);
  const { default: Provider, errors, interactionPolicy } = await importOidcProvider();
  const server = http.createServer();
  await listen(server, port, host);
  const issuer = `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`;

  const adapter = createDevStore(path.join(dataDir, 'grants.json'));
  const apiClientSecret = options.apiClientSecret ?? randomBytes(32).toString('base64url');
  const provider = new Provider(
    issuer,
    providerConfiguration({ audience, keys, adapter, errors, interactionPolicy, docsOrigin, apiClientSecret, extraClients: options.extraClients ?? [] }),
  );
  const describe = (error: OIDCProviderError) =>
    [error.error, error.error_description, error.error_detail && `(${error.error_detail})`].filter(Boolean).join(' ');
  provider.on('authorization.error', (_ctx: unknown, error: OIDCProviderError) => log(`authorization request refused: ${describe(error)}`));
  provider.on('grant.error', (_ctx: unknown, error: OIDCProviderError) => log(`token request refused: ${describe(error)}`));
  provider.on('server_error', (_ctx: unknown, error: Error) => log(`server error: ${error.message}`));

  const app = express();
  app.disable('x-powered-by');
  app.get(STYLESHEET_PATH, (_req, res) => {
    res.type('text/css').set({ 'Cache-Control': 'max-age=3600', 'X-Content-Type-Options': 'nosniff' }).send(STYLESHEET);
  });
  // Browsers ask every site for its icon; without an answer each sign-in page logs a 404 in the console. No icon is
  // an answer too: 204, kept for a day so it is not asked again on each page.
  app.get('/favicon.ico', (_req, res) => {
    res.status(204).set('Cache-Control', 'max-age=86400').end();
  });
  app.use(interactionsRouter(provider, { audience, log }));
  app.use(provider.callback());
  server.on('request', app);
  const docsClientId = docsOrigin === undefined ? undefined : DOCS_CLIENT_ID;
  const clients = [NATIVE_CLIENT.client_id, `${OPAQUE_NATIVE_CLIENT.client_id} (opaque tokens)`, ...(docsOrigin === undefined ? [] : [`${DOCS_CLIENT_ID} (${docsRedirectUri(docsOrigin)})`])];
  log(`${issuer} ready: clients ${clients.join(', ')}, audience ${audience}, signing key ${keys[0]!.kid}`);

  return {
    issuer,
    docsClientId,
    introspectionClient: { clientId: API_CLIENT_ID, clientSecret: apiClientSecret },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) =>
      reject(new Error(`the development authorization server cannot listen on ${host}:${port}: ${error.code ?? error.message}`, { cause: error }));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}
