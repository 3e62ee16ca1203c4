/**
 * `npm run logout`: signs out as the native app does, revoking the saved tokens at the authorization server (RFC 7009:
 * the refresh token, and the access token when the server keeps it, as opaque ones) and deleting them, with their DPoP
 * key. An opaque access token then stops working at the API once its cached introspection answer ends
 * (`INTROSPECTION_CACHE_SECONDS`); a JWT stays valid until it expires, whatever the server is told.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import * as client from 'openid-client';
import { describeOAuthError, discoverAuthorizationServer } from './authorization-server.js';
import { dpopKeyFileFor, removeDpopKey } from './dpop-key.js';
import { DEFAULT_TOKENS_FILE, NotSignedInError, readTokens } from './token-store.js';

try {
  const { values } = parseArgs({ options: { 'tokens-file': { type: 'string', default: DEFAULT_TOKENS_FILE } } });
  const tokensFile = values['tokens-file'];
  const tokens = readTokens(tokensFile);
  const config = await discoverAuthorizationServer(tokens.issuer, tokens.client_id);
  if (!config.serverMetadata().revocation_endpoint) throw new Error(`${tokens.issuer} has no revocation endpoint; the tokens stay valid until they expire`);
  // The refresh token first: it is the one that could mint new access tokens.
  if (tokens.refresh_token) await client.tokenRevocation(config, tokens.refresh_token, { token_type_hint: 'refresh_token' });
  await client.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' });
  fs.rmSync(tokensFile, { force: true });
  removeDpopKey(dpopKeyFileFor(tokensFile));
  console.log(`Signed out: the tokens were revoked at ${tokens.issuer} and ${tokensFile} deleted.`);
} catch (error) {
  const hint = error instanceof NotSignedInError ? ' (nothing to sign out of)' : '';
  console.error(`logout: ${describeOAuthError(error)}${hint}`);
  process.exit(1);
}
