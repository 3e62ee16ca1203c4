import type { AuthError } from './auth-errors.js';

/** Algorithms the token library accepts for DPoP proofs (asymmetric only; RFC 9449 §4.2). */
export const DPOP_ALGS = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA'] as const;

export type DpopMode = 'allowed' | 'required' | 'disabled';
export type Scheme = 'bearer' | 'dpop';

export interface ChallengeSettings {
  realm: string;
  dpop: DpopMode;
  /** Algorithms accepted for DPoP proofs, advertised in the DPoP challenge (RFC 9449 §7.1). */
  dpopAlgs: readonly string[];
}

const quote = (value: string): string => value.replace(/[\\"]/g, '\\$&');

/**
 * The `WWW-Authenticate` field for an auth error: one challenge per scheme this API accepts (RFC 6750 §3,
 * RFC 9449 §7.1). The error goes in the challenge of the scheme the client used; with no credentials, no
 * challenge carries an error. Every 401 points at the protected resource metadata (RFC 9728 §5.1).
 */
export function buildChallenge(
  settings: ChallengeSettings,
  error: AuthError,
  context: { usedScheme: Scheme | undefined; resourceMetadata: string },
): string {
  const offered: Scheme[] = settings.dpop === 'disabled' ? ['bearer'] : settings.dpop === 'required' ? ['dpop'] : ['bearer', 'dpop'];
  const errorScheme = error.code ? (context.usedScheme && offered.includes(context.usedScheme) ? context.usedScheme : offered[0]) : undefined;

  return offered
    .map((scheme) => {
      const params: string[] = scheme === 'bearer' ? [`realm="${quote(settings.realm)}"`] : [];
      if (scheme === errorScheme) {
        params.push(`error="${error.code}"`, `error_description="${quote(error.message)}"`);
        if (error.scope) params.push(`scope="${quote(error.scope)}"`);
        for (const [name, value] of Object.entries(error.challengeParams)) params.push(`${name}="${quote(value)}"`);
      }
      if (scheme === 'dpop') params.push(`algs="${settings.dpopAlgs.join(' ')}"`);
      if (error.status === 401) params.push(`resource_metadata="${quote(context.resourceMetadata)}"`);
      return `${scheme === 'bearer' ? 'Bearer' : 'DPoP'} ${params.join(', ')}`;
    })
    .join(', ');
}

/** The scheme of the request's Authorization header, when it is one this API knows. */
export function schemeOf(authorization: string | undefined): Scheme | undefined {
  const scheme = authorization?.split(' ', 1)[0]?.toLowerCase();
  return scheme === 'bearer' || scheme === 'dpop' ? scheme : undefined;
}
