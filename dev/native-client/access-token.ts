import * as client from 'openid-client';
import { describeOAuthError, discoverAuthorizationServer } from './authorization-server.js';
import { dpopKeyFileFor, readDpopKey, type DpopKey } from './dpop-key.js';
import { isDpopBound, NotSignedInError, readTokens, saveTokens, withTokensLock, type StoredTokens } from './token-store.js';

/** What the token endpoint returned, with where it came from, as the app saves it. */
export function storedTokensFrom(
  response: client.TokenEndpointResponse,
  origin: {
    issuer: string;
    clientId: string;
    audience: string | null;
    subject: string | null;
    previousRefreshToken?: string | null;
    /** The thumbprint of the DPoP key the request was made with. */
    dpopJkt?: string | null;
    api?: string | null;
  },
  now = Date.now(),
): StoredTokens {
  const bound = response.token_type.toLowerCase() === 'dpop';
  return {
    issuer: origin.issuer,
    client_id: origin.clientId,
    audience: origin.audience,
    subject: origin.subject,
    token_type: response.token_type,
    access_token: response.access_token,
    // A server that does not rotate returns no new refresh token: the old one stays valid.
    refresh_token: response.refresh_token ?? origin.previousRefreshToken ?? null,
    scope: response.scope ?? null,
    expires_at: Math.floor(now / 1000) + (response.expires_in ?? 0),
    dpop_jkt: bound ? (origin.dpopJkt ?? null) : null,
    api: origin.api ?? null,
  };
}

/**
 * Uses the refresh token for new tokens (RFC 6749 §6). A refused refresh token (`invalid_grant`: expired,
 * revoked, or already used) is a `NotSignedInError`. DPoP-bound tokens are refreshed with a proof by their key
 * (`dpopKey`; a public client's refresh token is bound to it too), and come back bound to it again.
 */
export async function refreshTokens(tokens: StoredTokens, options: { dpopKey?: DpopKey } = {}): Promise<StoredTokens> {
  if (!tokens.refresh_token) throw new NotSignedInError('the access token has expired and there is no refresh token: sign in again');
  const { dpopKey } = options;
  if (isDpopBound(tokens) && !dpopKey) throw new NotSignedInError('the tokens are DPoP-bound and their key is not at hand: sign in again');
  if (dpopKey && tokens.dpop_jkt && dpopKey.jkt !== tokens.dpop_jkt) {
    throw new NotSignedInError(`the DPoP key ${dpopKey.jkt} is not the one the tokens are bound to (${tokens.dpop_jkt}): sign in again`);
  }
  const config = await discoverAuthorizationServer(tokens.issuer, tokens.client_id);
  try {
    const DPoP = dpopKey ? client.getDPoPHandle(config, dpopKey.keyPair) : undefined;
    const response = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, DPoP ? { DPoP } : undefined);
    if (dpopKey && response.token_type.toLowerCase() !== 'dpop') {
      throw new Error(`the refresh with a DPoP proof returned a ${response.token_type} token, not a DPoP-bound one`);
    }
    return storedTokensFrom(response, {
      issuer: tokens.issuer,
      clientId: tokens.client_id,
      audience: tokens.audience,
      subject: tokens.subject ?? null,
      previousRefreshToken: tokens.refresh_token,
      dpopJkt: dpopKey?.jkt ?? null,
      api: tokens.api ?? null,
    });
  } catch (error) {
    if (error instanceof client.ResponseBodyError && error.error === 'invalid_grant') {
      throw new NotSignedInError(`the refresh token was refused (${describeOAuthError(error)}): sign in again`);
    }
    throw error;
  }
}

/**
 * An access token from the tokens file that is valid for at least `minValiditySeconds` more, refreshing (and
 * saving the rotated refresh token) when needed.
 *
 * @example
 * const accessToken = await validAccessToken({ tokensFile: '.tokens/tokens.json' });
 */
export async function validAccessToken(options: { tokensFile: string; minValiditySeconds?: number }): Promise<string> {
  return (await validTokens(options)).tokens.access_token;
}

/**
 * The saved tokens, with an access token valid for at least `minValiditySeconds` more (refreshed and saved when
 * needed), and the DPoP key when they are bound to one (kept beside them, see `dpopKeyFileFor`).
 */
export async function validTokens(options: { tokensFile: string; minValiditySeconds?: number }): Promise<{ tokens: StoredTokens; dpopKey?: DpopKey }> {
  const { tokensFile, minValiditySeconds = 30 } = options;
  const fresh = (tokens: StoredTokens) => tokens.expires_at - Date.now() / 1000 > minValiditySeconds;
  const keyOf = async (tokens: StoredTokens): Promise<{ dpopKey?: DpopKey }> => {
    if (!isDpopBound(tokens)) return {};
    const file = dpopKeyFileFor(tokensFile);
    const dpopKey = await readDpopKey(file);
    if (tokens.dpop_jkt && dpopKey.jkt !== tokens.dpop_jkt) throw new NotSignedInError(`${file} is not the key the tokens are bound to: sign in again`);
    return { dpopKey };
  };
  const saved = readTokens(tokensFile);
  if (fresh(saved)) return { tokens: saved, ...(await keyOf(saved)) };
  return withTokensLock(tokensFile, async () => {
    // Another process may have refreshed while this one waited for the lock.
    const current = readTokens(tokensFile);
    const key = await keyOf(current);
    if (fresh(current)) return { tokens: current, ...key };
    const refreshed = await refreshTokens(current, key);
    saveTokens(tokensFile, refreshed);
    return { tokens: refreshed, ...key };
  });
}
