import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuthenticationSource, Check as CheckClass, IssuedToken, KoaContextWithOIDC, UnknownObject } from 'oidc-provider';

/**
 * The authentication context classes (`acr`) of the development server: a password alone, or a password and a
 * second factor. A login with the second factor satisfies a request for either.
 */
export const ACR = Object.freeze({ PASSWORD: 'urn:notes:pwd', MFA: 'urn:notes:mfa' });
export const ACR_VALUES: readonly string[] = [ACR.PASSWORD, ACR.MFA];

/** The second factor of the development server: a fixed one-time code. Its users and passwords are public too. */
export const DEV_ONE_TIME_CODE = '000000';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Whether `code` is the development one-time code (compared in constant time, as a real one would be). */
export function isDevOneTimeCode(code: string): boolean {
  return timingSafeEqual(digest(code), digest(DEV_ONE_TIME_CODE));
}

/** The `acr` values an authorization request asks for (`acr_values`, space-separated) that this server knows. */
export function requestedAcrValues(params: UnknownObject | undefined): string[] {
  const value = params?.acr_values;
  if (typeof value !== 'string') return [];
  // acr_values is a voluntary request (OIDC Core §3.1.2.1): values this server does not know are ignored.
  return value.split(' ').filter((acr) => ACR_VALUES.includes(acr));
}

/** Whether a login of class `acr` satisfies a request for any of `requested` (none requested: any login does). */
export function satisfiesAcr(acr: string | undefined, requested: readonly string[]): boolean {
  if (requested.length === 0) return true;
  if (acr === undefined) return false;
  return requested.includes(acr) || (acr === ACR.MFA && requested.includes(ACR.PASSWORD));
}

/** The login details of a sign-in with a password and, when `secondFactor`, the one-time code. */
export function loginAuthentication(secondFactor: boolean): { acr: string; amr: string[] } {
  return secondFactor ? { acr: ACR.MFA, amr: ['pwd', 'otp'] } : { acr: ACR.PASSWORD, amr: ['pwd'] };
}

/**
 * A check for the `login` prompt: when the request asks for `acr_values` that the current session's login does not
 * satisfy, the user signs in again (with the second factor). `max_age` needs no such check: oidc-provider's login
 * prompt already asks for a new login when the session's is older.
 */
export function acrValuesCheck(Check: typeof CheckClass): CheckClass {
  return new Check('acr_values', 'the requested authentication context class is not satisfied', (ctx) => {
    const requested = requestedAcrValues(ctx.oidc.params);
    if (requested.length === 0 || !ctx.oidc.session?.accountId) return Check.NO_NEED_TO_PROMPT;
    return satisfiesAcr(ctx.oidc.session.acr, requested) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
  });
}

/**
 * `extraTokenClaims`: puts the user's login time (`auth_time`) and its class (`acr`) in every access token, taken
 * from what the token is issued for (the authorization code, or the refresh token: a refresh keeps the login time
 * of the original sign-in). A resource server needs both for step-up (RFC 9470 §4).
 */
export function authenticationClaims(ctx: KoaContextWithOIDC, token: IssuedToken): UnknownObject | undefined {
  if (token.kind !== 'AccessToken') return undefined;
  const { entities } = ctx.oidc;
  const source = (entities.AuthorizationCode ?? entities.RotatedRefreshToken ?? entities.RefreshToken) as AuthenticationSource | undefined;
  if (!source) return undefined;
  return {
    ...(typeof source.authTime === 'number' ? { auth_time: source.authTime } : {}),
    ...(typeof source.acr === 'string' ? { acr: source.acr } : {}),
  };
}
