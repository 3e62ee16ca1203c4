import type { ServiceUnavailableError } from '../errors.js';
import {
  InvalidDpopProofError,
  InvalidRequestError,
  InvalidTokenError,
  issuerUnreachable,
  MISSING_CREDENTIALS,
  UnknownKeyError,
  type AuthError,
} from './auth-errors.js';

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

type Failure = { description: string; action?: 'refresh'; serverTime?: boolean; permanent?: boolean };

// Fixed descriptions only: a token's own contents are never echoed back (RFC 6750 §3, STANDARDS.md).
const MALFORMED_SHAPE: Failure = { description: 'The access token is malformed or invalid.', permanent: true };
// `permanent`: the same token would fail the same way at any later time, whatever the key set.
const EXPIRED: Failure = { description: 'The access token expired.', action: 'refresh', serverTime: true };
const NOT_YET_VALID: Failure = { description: 'The access token is not valid yet; check the device clock.', serverTime: true };
const BY_CLAIM: Record<string, Failure> = {
  exp: { description: 'The access token lacks a required claim (exp).' },
  iat: { description: 'The access token was issued in the future; check the device clock.', serverTime: true },
  iss: { description: 'The access token was issued by an authorization server this API does not trust.', permanent: true },
  aud: { description: 'The access token was not issued for this API (audience).', permanent: true },
  alg: { description: 'The access token is signed with an algorithm, or names keys, that this API does not accept.', permanent: true },
  typ: { description: 'The access token is not an RFC 9068 access token (typ at+jwt).', permanent: true },
  sub: { description: 'The access token lacks a required claim (sub).' },
  client_id: { description: 'The access token lacks a required claim (client_id).' },
  jti: { description: 'The access token lacks a required claim (jti).' },
};
const BY_MESSAGE: Array<[RegExp, Failure]> = [
  [/confirmation mismatch/i, { description: 'The DPoP proof is signed by another key than the one the access token is bound to.' }],
  [/requires the DPoP authentication scheme/i, { description: 'This access token is DPoP-bound: send it as "DPoP <token>" with a DPoP proof.' }],
  [/jkt|confirmation claim/i, { description: 'This API needs a DPoP-bound access token (cnf.jkt) here.' }],
  [/"exp" claim timestamp check failed/, EXPIRED],
  [/"nbf" claim timestamp check failed/, NOT_YET_VALID],
  [/"iat" claim timestamp check failed/, BY_CLAIM.iat!],
  [/signature verification failed/i, { description: 'The access token signature is invalid.', permanent: true }],
  [/Issuer is not allowed|issuer/i, BY_CLAIM.iss!],
  [/Invalid Compact JWS|Compact JWS serialization|Protected Header|Claims Set|Unsupported algorithm|Invalid Token/i, { ...MALFORMED_SHAPE }],
];
const MALFORMED: Failure = { description: 'The access token is malformed or invalid.' };

const PROOF_FAILURES: Array<[RegExp, string]> = [
  [/htm/i, 'The DPoP proof was made for another HTTP method (htm).'],
  [/htu/i, 'The DPoP proof was made for another URL (htu).'],
  [/"iat"/i, 'The DPoP proof is too old or from the future (iat); make a new one, and check the device clock.'],
  [/"ath"/i, 'The DPoP proof was made for another access token (ath).'],
  [/jti/i, 'The DPoP proof has no jti.'],
  [/Multiple DPoP proofs/i, 'Exactly one DPoP proof may be sent.'],
];

/** Turns a failure of the token library into the error the client should see. */
export function classifyVerificationFailure(error: unknown): AuthError | ServiceUnavailableError {
  const message = error instanceof Error ? error.message : String(error);
  const { code, status } = (error ?? {}) as { code?: unknown; status?: unknown };
  if (code === 'invalid_dpop_proof') {
    const description = PROOF_FAILURES.find(([pattern]) => pattern.test(message))?.[1];
    return new InvalidDpopProofError(description ?? 'The DPoP proof is malformed or its signature is invalid.');
  }
  if (status === 400) return new InvalidRequestError('The request is malformed (Authorization, DPoP or Host header).');
  if (status === 401 && code === undefined) return MISSING_CREDENTIALS;
  if (ISSUER_UNREACHABLE.some((pattern) => pattern.test(message))) {
    return issuerUnreachable(error);
  }
  if (/no applicable key found|multiple matching keys/i.test(message)) return new UnknownKeyError();
  const claim = /^Unexpected '([a-z_]+)' value$/.exec(message)?.[1];
  const failure = (claim && BY_CLAIM[claim]) || BY_MESSAGE.find(([pattern]) => pattern.test(message))?.[1] || MALFORMED;
  return new InvalidTokenError(failure.description, failure);
}
