import * as client from 'openid-client';
import { describeOAuthError, discoverAuthorizationServer } from './authorization-server.js';
import { NotSignedInError, readTokens, saveTokens, withTokensLock, type StoredTokens } from './token-store.js';

/** What the token endpoint returned, with where it came from, as the app saves it. */
export function storedTokensFrom(
  response: client.TokenEndpointResponse,
  origin: { issuer: string; clientId: string; audience: string | null; subject: string | null; previousRefreshToken?: string | null },
  now = Date.now(),
): StoredTokens {
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
  };
}

/**
 * Uses the refresh token for new tokens (RFC 6749 §6). A refused refresh token (`invalid_grant`: expired,
 * revoked, or already used) is a `NotSignedInError`.
 */
export async function refreshTokens(tokens: StoredTokens): Promise<StoredTokens> {
  if (!tokens.refresh_token) throw new NotSignedInError('the access token has expired and there is no refresh token: sign in again');
  const config = await discoverAuthorizationServer(tokens.issuer, tokens.client_id);
  try {
    const response = await client.refreshTokenGrant(config, tokens.refresh_token);
    return storedTokensFrom(response, {
      issuer: tokens.issuer,
      clientId: tokens.client_id,
      audience: tokens.audience,
      subject: tokens.subject ?? null,
      previousRefreshToken: tokens.refresh_token,
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
  const { tokensFile, minValiditySeconds = 30 } = options;
  const fresh = (tokens: StoredTokens) => tokens.expires_at - Date.now() / 1000 > minValiditySeconds;
  const saved = readTokens(tokensFile);
  if (fresh(saved)) return saved.access_token;
  return withTokensLock(tokensFile, async () => {
    // Another process may have refreshed while this one waited for the lock.
    const current = readTokens(tokensFile);
    if (fresh(current)) return current.access_token;
    const refreshed = await refreshTokens(current);
    saveTokens(tokensFile, refreshed);
    return refreshed.access_token;
  });
}
