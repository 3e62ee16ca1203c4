import { ServiceUnavailableError } from '../errors.js';
import { InvalidTokenError } from './auth-errors.js';

// The library wraps every verification failure in one error class and keeps only the message,
// so the message is what tells a bad token from an issuer we cannot reach.
const ISSUER_UNREACHABLE = [
  /authorization server metadata/i,
  /JSON Web Key Set HTTP response/i,
  /JSON Web Key Set malformed/i,
  /request timed out/i,
  /Failed to fetch/i,
  /Failed to parse the response/i,
  /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\b/,
  /socket hang up/i,
];

type Failure = { description: string; action?: 'refresh'; serverTime?: boolean };

// Fixed descriptions only: a token's own contents are never echoed back (RFC 6750 §3, STANDARDS.md).
const EXPIRED: Failure = { description: 'The access token expired.', action: 'refresh', serverTime: true };
const NOT_YET_VALID: Failure = { description: 'The access token is not valid yet; check the device clock.', serverTime: true };
const BY_CLAIM: Record<string, Failure> = {
  exp: { description: 'The access token lacks a required claim (exp).' },
  iat: { description: 'The access token was issued in the future; check the device clock.', serverTime: true },
  iss: { description: 'The access token was issued by an authorization server this API does not trust.' },
  aud: { description: 'The access token was not issued for this API (audience).' },
  alg: { description: 'The access token is signed with an algorithm, or names keys, that this API does not accept.' },
  typ: { description: 'The access token is not an RFC 9068 access token (typ at+jwt).' },
  sub: { description: 'The access token lacks a required claim (sub).' },
  client_id: { description: 'The access token lacks a required claim (client_id).' },
  jti: { description: 'The access token lacks a required claim (jti).' },
};
const BY_MESSAGE: Array<[RegExp, Failure]> = [
  [/"exp" claim timestamp check failed/, EXPIRED],
  [/"nbf" claim timestamp check failed/, NOT_YET_VALID],
  [/"iat" claim timestamp check failed/, BY_CLAIM.iat!],
  [/signature verification failed/i, { description: 'The access token signature is invalid.' }],
  [/no applicable key found|multiple matching keys/i, { description: 'The access token is signed with a key this API does not know.' }],
  [/Issuer is not allowed|issuer/i, BY_CLAIM.iss!],
];
const MALFORMED: Failure = { description: 'The access token is malformed or invalid.' };

/** Turns a failure of the token library into the error the client should see. */
export function classifyVerificationFailure(error: unknown): InvalidTokenError | ServiceUnavailableError {
  const message = error instanceof Error ? error.message : String(error);
  if (ISSUER_UNREACHABLE.some((pattern) => pattern.test(message))) {
    return new ServiceUnavailableError('The authorization server could not be reached to check the access token; retry shortly.', {
      cause: error,
      extensions: { action: 'retry' },
    });
  }
  const claim = /^Unexpected '([a-z_]+)' value$/.exec(message)?.[1];
  const failure = (claim && BY_CLAIM[claim]) || BY_MESSAGE.find(([pattern]) => pattern.test(message))?.[1] || MALFORMED;
  return new InvalidTokenError(failure.description, failure.action ?? 'reauthenticate', failure.serverTime ?? false);
}
