import type { Request } from 'express';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import type { AuthError } from '../auth-errors.js';
import { DPOP_ALGS } from '../challenge.js';
import { sameAsForJwt } from './introspected-token.js';

export interface ProofSettings {
  /** How old a proof (`iat`) may be, in seconds. */
  maxAgeSeconds: number;
  clockToleranceSeconds: number;
}

/**
 * Checks the DPoP proof of a request whose introspected token is bound to `jkt` (RFC 9449 §4.3, §7.1): signed by the
 * key in its header (jose verifies), `typ` `dpop+jwt`, an asymmetric algorithm, `htm`/`htu` this request, `iat`
 * recent, a `jti`, `ath` the token's hash (`tokenHash`: its SHA-256, as `VerifiedTokenCache.keyOf` makes it), and the
 * key's thumbprint `jkt`. For JWTs the token library makes these checks; an opaque token never reaches it. Resolves,
 * or rejects with the JWT path's error for the same failure. Replays are the caller's to catch, as for JWTs.
 */
export async function checkDpopProof(req: Request, tokenHash: string, jkt: string, settings: ProofSettings): Promise<void> {
  const failure = await proofFailure(req, tokenHash, jkt, settings);
  if (failure) throw failure;
}

async function proofFailure(req: Request, tokenHash: string, jkt: string, settings: ProofSettings): Promise<AuthError | undefined> {
  const proof = req.headers.dpop as string;
  if (proof.includes(',')) return sameAsForJwt('Multiple DPoP proofs are not allowed', 'invalid_dpop_proof');
  let claims: Record<string, unknown>, jwk: JWK;
  try {
    const verified = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [...DPOP_ALGS] });
    claims = verified.payload;
    jwk = verified.protectedHeader.jwk!;
  } catch (error) {
    return sameAsForJwt((error as Error).message, 'invalid_dpop_proof');
  }
  const now = Math.floor(Date.now() / 1000);
  const { htm, htu, iat, jti, ath } = claims;
  const proofFailed =
    (typeof iat !== 'number' || iat < now - settings.maxAgeSeconds || iat > now + settings.clockToleranceSeconds
      ? 'DPoP proof "iat" is outside the acceptable range'
      : undefined) ??
    (typeof htm !== 'string' || htm.toUpperCase() !== req.method ? 'DPoP Proof htm mismatch' : undefined) ??
    (typeof htu !== 'string' || !sameUrl(htu, `${req.protocol}://${req.host}${req.originalUrl}`) ? 'DPoP Proof htu mismatch' : undefined) ??
    (typeof jti !== 'string' || jti === '' ? 'Missing "jti" in DPoP proof' : undefined) ??
    (ath !== tokenHash ? 'DPoP Proof "ath" mismatch' : undefined);
  if (proofFailed) return sameAsForJwt(proofFailed, 'invalid_dpop_proof');
  if ((await calculateJwkThumbprint(jwk)) !== jkt) return sameAsForJwt('JWT Access Token confirmation mismatch');
  return undefined;
}

/** Whether `htu` names the request's URL as RFC 9449 §4.3 compares them: without query and fragment. */
function sameUrl(htu: string, requestUrl: string): boolean {
  if (!URL.canParse(htu) || !URL.canParse(requestUrl)) return false;
  const [a, b] = [new URL(htu), new URL(requestUrl)];
  return a.origin === b.origin && a.pathname === b.pathname;
}
