import type { RequestHandler } from 'express';
import { ForbiddenError } from '../errors.js';
import { InsufficientScopeError } from './auth-errors.js';
import { callerOf } from './caller.js';

/**
 * Allows the request only when the token grants every scope named, from its `scope` claim or, when configured,
 * its permissions claim. Fails with 403 `insufficient_scope` naming them all (RFC 6750 §3.1).
 *
 * @example router.get('/v1/notes', authenticate, requireScopes('read:notes'), listNotes)
 */
export function requireScopes(...scopes: string[]): RequestHandler {
  if (scopes.length === 0 || scopes.some((scope) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope))) {
    throw new TypeError('requireScopes() needs one or more scope tokens (RFC 6749 §3.3)');
  }
  const scopeGuard: RequestHandler = (req, _res, next) => {
    const { granted } = callerOf(req);
    if (!scopes.every((scope) => granted.has(scope))) throw new InsufficientScopeError(scopes);
    next();
  };
  return scopeGuard;
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
