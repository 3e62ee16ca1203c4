import type { Request } from 'express';
import { InvalidRequestError, InvalidTokenError, MissingCredentialsError } from './auth-errors.js';

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token
const BEARER_CREDENTIALS = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
const SCHEME = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)(?: |$)/;

/** Tokens longer than this are refused before any parsing: no issuer we support mints them. */
export const MAX_TOKEN_LENGTH = 8192;

/**
 * Returns the bearer token of a request, accepting it only from the `Authorization` header
 * (RFC 6750 §2.1; RFC 9700 §4.3.2 forbids URL query tokens). Throws the RFC 6750 §3.1 error otherwise.
 */
export function readBearerToken(req: Request): string {
  const header = req.headers.authorization;
  if (hasQueryToken(req)) {
    throw new InvalidRequestError(
      header === undefined
        ? 'Access tokens are accepted only in the Authorization header, never in the URL.'
        : 'The request presents an access token more than once (Authorization header and URL).',
    );
  }
  if (header === undefined || header.trim() === '') throw new MissingCredentialsError();

  const scheme = SCHEME.exec(header)?.[1];
  // Another scheme (Basic, Digest…) means the client does not know it must send a token: a bare challenge.
  if (scheme !== undefined && scheme.toLowerCase() !== 'bearer') throw new MissingCredentialsError();

  const token = BEARER_CREDENTIALS.exec(header)?.[1];
  if (token === undefined) {
    throw new InvalidRequestError('The Authorization header is malformed; it must be the word Bearer, one space and the token.');
  }
  if (token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError('The access token is too large to be valid.');
  return token;
}

function hasQueryToken(req: Request): boolean {
  const query = req.query as Record<string, unknown> | undefined;
  return query !== undefined && Object.hasOwn(query, 'access_token');
}
