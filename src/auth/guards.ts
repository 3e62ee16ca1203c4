import type { RequestHandler } from 'express';
import { ForbiddenError } from '../errors.js';
import { InsufficientScopeError, InsufficientUserAuthenticationError } from './auth-errors.js';
import { callerOf } from './caller.js';

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * Hands out scope guards and remembers every scope they check, so the protected resource metadata
 * (`scopes_supported`) is derived from the routes themselves.
 */
export class ScopeGuards {
  private readonly scopes = new Set<string>();

  /** Every scope some route requires, sorted. */
  get supported(): string[] {
    return [...this.scopes].sort();
  }

  /**
   * Allows the request only when the token grants every scope named, from its `scope` claim or, when configured,
   * its permissions claim. Fails with 403 `insufficient_scope` naming them all (RFC 6750 §3.1).
   *
   * @example router.get('/v1/notes', authenticate, scopes.require('read:notes'), listNotes)
   */
  require(...scopes: string[]): RequestHandler {
    if (scopes.length === 0 || scopes.some((scope) => !SCOPE_TOKEN.test(scope))) {
      throw new TypeError('require() needs one or more scope tokens (RFC 6749 §3.3)');
    }
    for (const scope of scopes) this.scopes.add(scope);
    const scopeGuard: RequestHandler = (req, _res, next) => {
      const { granted } = callerOf(req);
      if (!scopes.every((scope) => granted.has(scope))) throw new InsufficientScopeError(scopes);
      next();
    };
    return scopeGuard;
  }
}

/** Allows only tokens that act for a person: the notes are a user's, not an application's. */
export const requireUser: RequestHandler = (req, _res, next) => {
  if (callerOf(req).kind !== 'user') {
    throw new ForbiddenError(
      'user-token-required',
      'User Token Required',
      'This route acts on behalf of a signed-in user; a machine-to-machine (client credentials) token cannot use it.',
    );
  }
  next();
};

/**
 * Step-up (RFC 9470): allows the request only when the user logged in recently enough (`auth_time` at most
 * `maxAge` seconds ago) and/or with one of `acrValues`; otherwise 401 `insufficient_user_authentication`,
 * which tells the app to send the user through login again with `max_age` / `acr_values`.
 */
export function requireAuthentication(requirement: { maxAge?: number | undefined; acrValues?: readonly string[] | undefined }): RequestHandler {
  const { maxAge, acrValues } = requirement;
  const stepUpGuard: RequestHandler = (req, _res, next) => {
    const { authTime, acr } = callerOf(req);
    if (maxAge !== undefined) {
      if (!authTime) throw new InsufficientUserAuthenticationError(requirement, 'This action needs a recent login, and the token does not say when the user logged in (auth_time).');
      if (Date.now() - authTime.getTime() > maxAge * 1000) {
        throw new InsufficientUserAuthenticationError(requirement, `This action needs a login within the last ${maxAge} seconds.`);
      }
    }
    if (acrValues && (acr === undefined || !acrValues.includes(acr))) {
      throw new InsufficientUserAuthenticationError(requirement, `This action needs a stronger login (acr ${acrValues.join(' or ')}).`);
    }
    next();
  };
  return stepUpGuard;
}
