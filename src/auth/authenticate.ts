import type { RequestHandler } from 'express';
import type { Config } from '../config.js';
import { ForbiddenError } from '../errors.js';
import { readBearerToken } from './credentials.js';
import { callerFromClaims, setCaller } from './caller.js';
import { createTokenVerifier, verifierSettings } from './token-verifier.js';

/**
 * Builds the middleware that admits a request only with a valid access token from the Authorization header,
 * from an application on `ALLOWED_CLIENT_IDS` when that is set. Routes behind it read the caller with `callerOf`.
 */
export function createAuthenticate(config: Config, issuer: string): RequestHandler {
  const verify = createTokenVerifier(verifierSettings(config, issuer));
  const allowedClients = config.ALLOWED_CLIENT_IDS ? new Set(config.ALLOWED_CLIENT_IDS) : undefined;

  const authenticate: RequestHandler = async (req, _res, next) => {
    readBearerToken(req);
    const caller = callerFromClaims(await verify(req), config.PERMISSIONS_CLAIM);
    if (allowedClients && (caller.clientId === null || !allowedClients.has(caller.clientId))) {
      throw new ForbiddenError('client-not-allowed', 'Client Not Allowed', 'This application is not allowed to call this API.');
    }
    setCaller(req, caller);
    next();
  };
  return authenticate;
}
