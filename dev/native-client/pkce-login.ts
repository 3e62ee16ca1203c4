import * as client from 'openid-client';
import { storedTokensFrom } from './access-token.js';
import { discoverAuthorizationServer } from './authorization-server.js';
import { DPOP_ALG, type DpopKey } from './dpop-key.js';
import { signInHeadless, type CookieJar, type HeadlessCredentials } from './headless.js';
import { listenOnLoopback } from './loopback.js';
import type { StoredTokens } from './token-store.js';

/** The scopes the app asks for unless told otherwise: an ID token, a refresh token, and everything on the notes. */
export const DEFAULT_SCOPE = 'openid offline_access read:notes write:notes delete:notes';

/** How long a sign-in may take before the app gives up. */
export const LOGIN_TIMEOUT_MS = 5 * 60_000;

export interface LoginOptions {
  /** The authorization server's issuer identifier, e.g. `http://127.0.0.1:4000` or `https://TENANT.auth0.com/`. */
  issuer: string;
  clientId: string;
  /** The API to get a token for: sent as Auth0's `audience` and, when it is an absolute URI, as RFC 8707 `resource`. */
  audience?: string;
  /** Space-separated scopes, e.g. `openid offline_access read:notes`. */
  scope: string;
  /** Loopback port for the redirect; default 0 (any free port, RFC 8252 §7.3). */
  port?: number;
  /** OpenID `prompt`, e.g. `login` to sign in as someone else. */
  prompt?: string;
  /** OpenID `max_age`: the user must have signed in at most this many seconds ago, or sign in again (step-up). */
  maxAge?: number;
  /** OpenID `acr_values`: the authentication context classes asked for, space-separated, e.g. `urn:notes:mfa`. */
  acrValues?: string;
  /** Bind the tokens to this key with DPoP (RFC 9449): the code (`dpop_jkt`), the access and the refresh token. */
  dpopKey?: DpopKey;
  /** Sign in over HTTP with these credentials instead of a browser (the development server only). */
  headless?: HeadlessCredentials;
  /** In headless mode, the cookies to sign in with and keep: the authorization server's session, as a browser has. */
  cookies?: CookieJar;
  /** Called with the authorization URL when a person has to open it; not called in headless mode. */
  onAuthorizationUrl?: (url: URL) => void;
  /** How long to wait for the sign-in; default 5 minutes. */
  timeoutMs?: number;
}

/** The parameters of an authorization request (RFC 6749 §4.1.1 with RFC 7636 PKCE), without `client_id`. */
export function authorizationParameters(options: {
  redirectUri: string;
  scope: string;
  state: string;
  codeChallenge: string;
  audience?: string;
  prompt?: string;
  maxAge?: number;
  acrValues?: string;
  /** The DPoP key's thumbprint: binds the authorization code to the key (RFC 9449 §10). */
  dpopJkt?: string;
}): Record<string, string> {
  const { audience, prompt, maxAge, acrValues, dpopJkt } = options;
  return {
    response_type: 'code',
    redirect_uri: options.redirectUri,
    scope: options.scope,
    state: options.state,
    code_challenge: options.codeChallenge,
    code_challenge_method: 'S256',
    ...(audience ? { audience } : {}),
    // RFC 8707 needs an absolute URI; Auth0 ignores `resource` beside `audience`.
    ...(audience && URL.canParse(audience) ? { resource: audience } : {}),
    ...(prompt ? { prompt } : {}),
    ...(maxAge !== undefined ? { max_age: String(maxAge) } : {}),
    ...(acrValues ? { acr_values: acrValues } : {}),
    ...(dpopJkt ? { dpop_jkt: dpopJkt } : {}),
  };
}

/**
 * Signs the user in the way a native app does (RFC 8252): makes a PKCE verifier and `state`, listens on a
 * loopback port, sends the user to the authorization endpoint, receives the code, checks `state`, and exchanges
 * code + verifier at the token endpoint. With `dpopKey`, the token request carries a DPoP proof (openid-client's
 * DPoP support) and the tokens come back bound to the key.
 *
 * @example
 * const tokens = await login({ issuer: 'http://127.0.0.1:4000', clientId: 'notes-native-app',
 *   audience: 'http://127.0.0.1:3000/', scope: 'openid offline_access read:notes',
 *   headless: { user: 'alice', password: 'alice-dev-password' } });
 */
export async function login(options: LoginOptions): Promise<StoredTokens> {
  const { issuer, clientId, audience, dpopKey, timeoutMs = LOGIN_TIMEOUT_MS } = options;
  const config = await discoverAuthorizationServer(issuer, clientId);
  if (dpopKey && !(config.serverMetadata().dpop_signing_alg_values_supported ?? []).includes(DPOP_ALG)) {
    throw new Error(`the authorization server ${issuer} does not issue DPoP-bound tokens with ${DPOP_ALG} proofs (dpop_signing_alg_values_supported)`);
  }
  const DPoP = dpopKey ? client.getDPoPHandle(config, dpopKey.keyPair) : undefined;
  const receiver = await listenOnLoopback({ port: options.port ?? 0, timeoutMs });
  try {
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(
      config,
      authorizationParameters({
        redirectUri: receiver.redirectUri,
        scope: options.scope,
        state,
        codeChallenge: await client.calculatePKCECodeChallenge(codeVerifier),
        audience,
        prompt: options.prompt,
        maxAge: options.maxAge,
        acrValues: options.acrValues,
        dpopJkt: dpopKey?.jkt,
      }),
    );
    if (options.headless) {
      const callbackUrl = await signInHeadless(url, options.headless, {
        redirectUri: receiver.redirectUri,
        ...(options.cookies ? { cookies: options.cookies } : {}),
      });
      // Delivered to the loopback listener exactly as a browser would.
      await fetch(callbackUrl, { signal: AbortSignal.timeout(10_000) }).then((response) => response.body?.cancel());
    } else {
      options.onAuthorizationUrl?.(url);
    }
    const callbackUrl = await receiver.callback;
    const response = await client.authorizationCodeGrant(
      config,
      callbackUrl,
      { pkceCodeVerifier: codeVerifier, expectedState: state, ...(options.maxAge !== undefined ? { maxAge: options.maxAge } : {}) },
      undefined,
      DPoP ? { DPoP } : undefined,
    );
    if (dpopKey && response.token_type.toLowerCase() !== 'dpop') {
      throw new Error(`asked ${issuer} for a DPoP-bound token but it issued a ${response.token_type} token`);
    }
    const subject = response.claims()?.sub ?? null;
    return storedTokensFrom(response, {
      issuer: config.serverMetadata().issuer,
      clientId,
      audience: audience ?? null,
      subject,
      dpopJkt: dpopKey?.jkt ?? null,
    });
  } finally {
    await receiver.close();
  }
}
