import type { RequestHandler } from 'express';
import type { Config } from '../config.js';
import { ForbiddenError } from '../errors.js';
import { callerFromClaims, setCaller } from './caller.js';
import { readCredentials } from './credentials.js';
import { DpopReplayStore } from './dpop-replay.js';
import { createTokenVerifier, verifierSettings } from './token-verifier.js';

/**
 * Builds the middleware that admits a request only with a valid access token from the Authorization header
 * (Bearer, or DPoP with a fresh proof, as `DPOP` allows), from an application on `ALLOWED_CLIENT_IDS` when that
 * is set. Routes behind it read the caller with `callerOf`.
 */
export function createAuthenticate(config: Config, issuers: readonly string[]): RequestHandler {
  const verify = createTokenVerifier(verifierSettings(config, issuers));
  const replays = new DpopReplayStore(config.DPOP_REPLAY_CACHE_SIZE, config.DPOP_PROOF_MAX_AGE_SECONDS + config.CLOCK_TOLERANCE_SECONDS);
  const allowedClients = config.ALLOWED_CLIENT_IDS ? new Set(config.ALLOWED_CLIENT_IDS) : undefined;

  const authenticate: RequestHandler = async (req, _res, next) => {
    const { scheme } = readCredentials(req, config.DPOP);
    const claims = await verify(req);
    // The library checked the proof's signature, htm, htu, iat, ath and key binding; replays are ours to catch.
    if (scheme === 'dpop') await replays.record(req.headers.dpop as string);
    const caller = callerFromClaims(claims, config.PERMISSIONS_CLAIM, scheme);
    if (allowedClients && (caller.clientId === null || !allowedClients.has(caller.clientId))) {
      throw new ForbiddenError('client-not-allowed', 'Client Not Allowed', 'This application is not allowed to call this API.');
    }
    setCaller(req, caller);
    next();
  };
  return authenticate;
}
