import type { AuthError } from '../auth-errors.js';
import { InvalidTokenError } from '../auth-errors.js';
import { callerFromClaims, type Caller } from '../caller.js';
import { classifyVerificationFailure } from '../token-failure.js';

/** The members of an active introspection response (RFC 7662 §2.2) this API reads; others are kept as they came. */
export interface IntrospectionClaims {
  readonly active: true;
  readonly iss?: string;
  readonly aud?: string | string[];
  readonly sub?: string;
  readonly client_id?: string;
  readonly scope?: string;
  readonly exp?: number;
  readonly nbf?: number;
  readonly iat?: number;
  readonly token_type?: string;
  readonly cnf?: { readonly jkt?: string };
  readonly [claim: string]: unknown;
}

export interface IntrospectionExpectations {
  /** The issuer asked (as its metadata names itself): `iss`, when the answer has one, must be it. */
  issuer: string;
  /** This API's identifier: `aud` must include it. */
  audience: string;
  clockToleranceSeconds: number;
  permissionsClaim: string | undefined;
}

/** What an introspection answer means for a request: who calls, and the key a DPoP-bound token is bound to. */
export type IntrospectionVerdict = { caller: Caller; jkt: string | undefined } | { refusal: AuthError };

/**
 * One answer for every token the issuer calls inactive: expired, revoked or unknown look the same to the client
 * (RFC 7662 §2.2 gives the API nothing more, and a client should not learn more).
 */
export const INACTIVE_TOKEN = new InvalidTokenError('The access token is not active (expired, revoked, or unknown to its issuer).', { action: 'refresh' });

/**
 * The same checks as for a JWT access token (RFC 9068 §4), on an introspection answer: active, `iss` (when present),
 * `aud`, `exp`/`nbf`/`iat` within the clock tolerance, `sub`, and an access token (not a refresh token); then the
 * caller, as a JWT's claims would make it. Failures are the JWT path's own errors: the same problem body and challenge.
 * A client-credentials token has no `sub` (RFC 7662 leaves it out when no user is involved): its `client_id` is the
 * subject, as RFC 9068 §2.2 has it for JWTs, so it is a machine token.
 */
export function verdictOn(claims: IntrospectionClaims | null, expected: IntrospectionExpectations, nowMs = Date.now()): IntrospectionVerdict {
  if (claims === null || claims.active !== true) return { refusal: INACTIVE_TOKEN };
  const now = Math.floor(nowMs / 1000);
  const tolerance = expected.clockToleranceSeconds;
  const audiences = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  const sub = nonEmpty(claims.sub) ?? (claims.sub === undefined ? nonEmpty(claims.client_id) : undefined);
  const failure =
    (claims.iss !== undefined && claims.iss !== expected.issuer && "Unexpected 'iss' value") ||
    (!audiences.includes(expected.audience) && "Unexpected 'aud' value") ||
    (typeof claims.exp !== 'number' && "Unexpected 'exp' value") ||
    ((claims.exp as number) + tolerance <= now && '"exp" claim timestamp check failed') ||
    (typeof claims.nbf === 'number' && claims.nbf > now + tolerance && '"nbf" claim timestamp check failed') ||
    (typeof claims.iat === 'number' && claims.iat > now + tolerance && '"iat" claim timestamp check failed') ||
    (sub === undefined && "Unexpected 'sub' value");
  if (failure) return { refusal: sameAsForJwt(failure) };
  if (!isAccessToken(claims)) return { refusal: NOT_AN_ACCESS_TOKEN };
  const jkt = typeof claims.cnf?.jkt === 'string' && claims.cnf.jkt !== '' ? claims.cnf.jkt : undefined;
  // A DPoP token whose key the answer does not name cannot be checked against any proof.
  if (jkt === undefined && claims.token_type?.toLowerCase() === 'dpop') return { refusal: sameAsForJwt('JWT Access Token has no jkt confirmation claim') };
  const caller = callerFromClaims({ ...claims, iss: claims.iss ?? expected.issuer, sub }, expected.permissionsClaim, 'bearer');
  return { caller, jkt };
}

const NOT_AN_ACCESS_TOKEN = new InvalidTokenError('The token is not an access token.');

/**
 * Refresh tokens are introspectable too (RFC 7662 §2.1): an answer that says it is something else is refused.
 * `token_type` is the RFC's member (`Bearer`, `DPoP`); `token_use` is Ory Hydra's.
 */
function isAccessToken(claims: IntrospectionClaims): boolean {
  const type = typeof claims.token_type === 'string' ? claims.token_type.toLowerCase() : undefined;
  if (type !== undefined && type !== 'bearer' && type !== 'dpop') return false;
  return claims.token_use === undefined || claims.token_use === 'access_token';
}

/**
 * The error the JWT path gives for the same failure: the token library's message, classified as its own failures are
 * (token-failure.ts), so the two paths cannot drift apart.
 */
export function sameAsForJwt(libraryMessage: string, code: 'invalid_token' | 'invalid_dpop_proof' = 'invalid_token'): AuthError {
  return classifyVerificationFailure(Object.assign(new Error(libraryMessage), { code, status: 401 })) as AuthError;
}

const nonEmpty = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
