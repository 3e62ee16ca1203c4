import type { Request } from 'express';
import { InvalidDpopProofError, InvalidRequestError, InvalidTokenError, MISSING_CREDENTIALS } from './auth-errors.js';
import type { DpopMode, Scheme } from './challenge.js';

// RFC 6750 §2.1 and RFC 9449 §7.1: credentials = scheme 1*SP token68-like b64token
const CREDENTIALS = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*)$/i;
const SCHEME = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)(?: |$)/;

const ACCEPTED_SCHEMES: Record<DpopMode, readonly string[]> = { disabled: ['bearer'], required: ['dpop'], allowed: ['bearer', 'dpop'] };

/** Tokens longer than this are refused before any parsing: no issuer we support mints them. */
export const MAX_TOKEN_LENGTH = 8192;

export interface Credentials {
  scheme: Scheme;
  token: string;
}

/**
 * Reads the access token, accepting it only from the `Authorization` header (RFC 6750 §2.1; RFC 9700 §4.3.2
 * forbids URL query tokens), with the `Bearer` or `DPoP` scheme as `dpop` allows. Throws the RFC 6750 §3.1
 * error otherwise. The proof itself is checked with the token, later.
 */
export function readCredentials(req: Request, dpop: DpopMode): Credentials {
  const header = req.headers.authorization;
  if (hasQueryToken(req)) {
    throw new InvalidRequestError(
      header === undefined
        ? 'Access tokens are accepted only in the Authorization header, never in the URL.'
        : 'The request presents an access token more than once (Authorization header and URL).',
    );
  }
  // Node keeps the first Authorization header and drops the rest; a proxy in front may have read another one.
  if (header !== undefined && authorizationHeaderCount(req.rawHeaders) > 1) {
    throw new InvalidRequestError('The request presents more than one Authorization header; send exactly one credential.');
  }
  if (header === undefined || header.trim() === '') {
    if (req.headers.dpop !== undefined) throw new InvalidRequestError('A DPoP proof was sent without an access token.');
    throw MISSING_CREDENTIALS;
  }

  const scheme = SCHEME.exec(header)?.[1]?.toLowerCase();
  // A scheme this API does not take (Basic, or Bearer when DPoP is required): a bare challenge, no error code.
  if (scheme !== undefined && !ACCEPTED_SCHEMES[dpop].includes(scheme)) throw MISSING_CREDENTIALS;

  const match = CREDENTIALS.exec(header);
  if (!match) {
    throw new InvalidRequestError('The Authorization header is malformed; it must be the scheme, one space and the token.');
  }
  const token = match[2]!;
  if (token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError('The access token is too large to be valid.');
  if (scheme === 'dpop' && typeof req.headers.dpop !== 'string') {
    throw new InvalidDpopProofError('The DPoP scheme needs exactly one DPoP proof in the DPoP header.');
  }
  if (scheme === 'bearer' && req.headers.dpop !== undefined) {
    throw new InvalidRequestError('A DPoP proof was sent with the Bearer scheme; use "Authorization: DPoP <token>".');
  }
  return { scheme: scheme as Scheme, token };
}

/**
 * How many Authorization header lines the request has (names are case-insensitive). One pass over the raw header
 * list, made only for requests that have the header at all: the length test keeps most names at one comparison, and
 * the two spellings clients use are matched before any lowercased copy is made (measured: 30 to 80 ns a request
 * with eight header lines, half of lowercasing every 13-letter name, as If-None-Match and Cache-Control are).
 */
function authorizationHeaderCount(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 13 && (name === 'Authorization' || name === 'authorization' || name.toLowerCase() === 'authorization')) count++;
  }
  return count;
}

function hasQueryToken(req: Request): boolean {
  // Express parses the query string on every read of req.query: most requests have none.
  if (!req.url.includes('?')) return false;
  const query = req.query as Record<string, unknown> | undefined;
  return query !== undefined && Object.hasOwn(query, 'access_token');
}
