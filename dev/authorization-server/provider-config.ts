import { randomBytes } from 'node:crypto';
import type { Adapter, ClientMetadata, Configuration, errors as providerErrors, interactionPolicy as providerPolicy } from 'oidc-provider';
import { ACR_VALUES, acrValuesCheck, authenticationClaims } from './authentication-context.js';
import type { SigningJwk } from './keys.js';
import { findAccount } from './users.js';
import { errorPage, PAGE_HEADERS } from './views.js';

/** The native app's client: public (no secret), PKCE-bound, loopback and private-use-scheme redirects (RFC 8252). */
export const NATIVE_CLIENT: Readonly<ClientMetadata> = Object.freeze({
  client_id: 'notes-native-app',
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  // oidc-provider lets a native client use any port on a registered loopback URI (RFC 8252 §7.3).
  redirect_uris: ['http://127.0.0.1/callback', 'com.example.notes:/oauth2redirect'],
});

/**
 * The same native app registered for opaque access tokens (RFC 7662 introspection), as an app is at an issuer that
 * issues them (Ory Hydra by default, Auth0 without an API audience): `npm run login -- --opaque` signs in with it.
 */
export const OPAQUE_NATIVE_CLIENT: Readonly<ClientMetadata> = Object.freeze({ ...NATIVE_CLIENT, client_id: 'notes-native-app-opaque' });

/** The API's own client at this server: confidential, for the introspection endpoint (a resource server, no grants). */
export const API_CLIENT_ID = 'notes-api';

/** The API's client: `client_secret_basic` with `secret`, which the server makes at each start and hands the API. */
export function apiClient(secret: string): ClientMetadata {
  return { client_id: API_CLIENT_ID, client_secret: secret, token_endpoint_auth_method: 'client_secret_basic', grant_types: [], response_types: [], redirect_uris: [] };
}

/** The client id of the API's docs page (Swagger UI in `/docs`), registered when the server knows the API's origin. */
export const DOCS_CLIENT_ID = 'notes-api-docs';

/**
 * The docs page's client: a public browser client (Swagger UI runs the Authorization Code flow with PKCE in a
 * popup and redeems the code from the page, RFC 9700 §2.1.1), whose only redirect URI is the API's
 * `/docs/oauth2-redirect.html`. No refresh tokens: a page that is closed has nothing to keep.
 */
export function docsClient(apiOrigin: string): ClientMetadata {
  return {
    client_id: DOCS_CLIENT_ID,
    client_name: 'Notes API docs (Swagger UI)',
    application_type: 'web',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [docsRedirectUri(apiOrigin)],
  };
}

/** Where Swagger UI in the API's `/docs` receives the authorization response. */
export const docsRedirectUri = (apiOrigin: string) => `${new URL(apiOrigin).origin}/docs/oauth2-redirect.html`;

/** The scopes of the notes API an access token can carry. */
export const API_SCOPES = ['read:notes', 'write:notes', 'delete:notes'] as const;

/** Lifetimes in seconds: access tokens are short, so rotation of keys and revocation take effect soon. */
export const LIFETIMES = Object.freeze({
  AccessToken: 10 * 60,
  AuthorizationCode: 60,
  IdToken: 10 * 60,
  Interaction: 10 * 60,
  Session: 24 * 60 * 60,
  Grant: 14 * 24 * 60 * 60,
  RefreshToken: 14 * 24 * 60 * 60,
});

export interface ProviderConfigurationOptions {
  /** The API identifier: the only resource (RFC 8707) tokens are issued for, and their `aud`. */
  audience: string;
  /** Private signing keys; the first signs. */
  keys: SigningJwk[];
  adapter: (model: string) => Adapter;
  errors: typeof providerErrors;
  interactionPolicy: typeof providerPolicy;
  /** The API's origin (its `PUBLIC_URL`): registers the docs page's client, and lets that origin call the token endpoint. */
  docsOrigin?: string;
  /** The secret of the API's client (`notes-api`), for introspection. */
  apiClientSecret: string;
  /** More confidential clients for the API (tests: each client authentication method). */
  extraClients?: readonly ClientMetadata[];
}

/**
 * The oidc-provider configuration of the development authorization server: Authorization Code with PKCE (`S256`
 * only; oidc-provider 9 knows no other method) for one public native client, RS256 JWT access tokens for one API,
 * DPoP-bound when the token request carries a proof, with the login's `auth_time` and `acr` in them.
 */
export function providerConfiguration(options: ProviderConfigurationOptions): Configuration {
  const { audience, keys, adapter, errors, interactionPolicy, docsOrigin } = options;
  const docsPage = docsOrigin === undefined ? undefined : new URL(docsOrigin).origin;
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(acrValuesCheck(interactionPolicy.Check));
  return {
    adapter,
    clients: [
      { ...NATIVE_CLIENT },
      { ...OPAQUE_NATIVE_CLIENT },
      apiClient(options.apiClientSecret),
      ...(options.extraClients ?? []),
      ...(docsPage ? [docsClient(docsPage)] : []),
    ],
    jwks: { keys },
    // Signs the interaction and session cookies; a new secret per start only ends browser sessions.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    responseTypes: ['code'],
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access'],
    findAccount,
    // `max_age` on /auth: a login older than that is asked again (oidc-provider's login prompt does it).
    // `acr_values` on /auth: a login that does not satisfy them is asked again, with the second factor.
    acrValues: [...ACR_VALUES],
    interactions: { policy, url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // auth_time and acr in every access token, for the API's step-up checks (RFC 9470).
    extraTokenClaims: authenticationClaims,
    features: {
      devInteractions: { enabled: false },
      // RFC 9449: a token request with a DPoP proof gets an access token bound to the proof's key (`cnf.jkt`,
      // `token_type: DPoP`); the refresh token of this public client is bound to the same key, so a refresh needs
      // a proof by it too. `dpop_jkt` on /auth binds the authorization code to the key as well (§10).
      dPoP: { enabled: true },
      // Switching users goes through `prompt=login`; a native app has no use for a logout page.
      rpInitiatedLogout: { enabled: false },
      // RFC 7662: the API asks about opaque tokens (any confidential client may; a public one about its own only).
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => client.clientAuthMethod !== 'none' || token.clientId === client.clientId,
      },
      // RFC 7009: `npm run logout` revokes the app's tokens; an opaque access token then stops working at the API.
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      resourceIndicators: {
        enabled: true,
        // No `resource` in the request: the API, as Auth0 does with `audience` (or its tenant's default audience).
        defaultResource: (_ctx, _client, oneOf) => oneOf ?? audience,
        // The token request needs no `resource` again: the one granted at /authorize applies.
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource, client) => {
          if (resource !== audience) throw new errors.InvalidTarget(`this server issues tokens for ${audience} only`);
          return {
            scope: API_SCOPES.join(' '),
            accessTokenFormat: client.clientId === OPAQUE_NATIVE_CLIENT.client_id ? 'opaque' : 'jwt',
            accessTokenTTL: LIFETIMES.AccessToken,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // Auth0's way to name the API. It must name the same API as `resource` would; the resource then defaults to it.
    extraParams: {
      audience(_ctx, value) {
        if (value !== undefined && value !== audience) throw new errors.InvalidTarget(`unknown audience; this server issues tokens for ${audience} only`);
      },
    },
    // A native app has no browser session to fall back on, so every code exchange also returns a refresh token.
    // oidc-provider would otherwise require `offline_access` together with `prompt=consent` (OIDC Core §11), which
    // Auth0 does not; the native client asks for `offline_access` anyway, so Auth0 returns one too.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: () => false,
    // Every refresh returns a new refresh token and retires the old one; reusing a retired one revokes the
    // whole grant (RFC 9700 §4.14.2: a public client's refresh tokens must be rotated or sender-constrained).
    rotateRefreshToken: () => true,
    ttl: { ...LIFETIMES },
    // Only the docs page calls from a browser, and only from the API's origin (the native app is no browser).
    clientBasedCORS: (_ctx, origin, client) => docsPage !== undefined && client.clientId === DOCS_CLIENT_ID && origin === docsPage,
    renderError: (ctx, out) => {
      ctx.set(PAGE_HEADERS);
      ctx.type = 'html';
      ctx.body = errorPage({ error: out.error, description: out.error_description });
    },
  };
}
