import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { Config } from '../config.js';
import { ForbiddenError, ServiceUnavailableError, type HttpError } from '../errors.js';
import { describeCurrentSpan, inSpan, spanNow } from '../observability/tracing/spans.js';
import { AuthError, InvalidTokenError, UnknownKeyError, USE_DPOP_NONCE } from './auth-errors.js';
import { callerFromClaims, setCaller, type Caller } from './caller.js';
import type { Scheme } from './challenge.js';
import { readCredentials } from './credentials.js';
import { DpopNonces } from './dpop-nonce.js';
import { DpopReplayChecker } from './dpop-replay.js';
import { KeyIdGate } from './key-id-gate.js';
import { openIntrospection, type Introspection, type IntrospectionSetup } from './introspection/index.js';
import { observeIssuerRequests } from './issuer-requests.js';
import type { ProofIdStore } from './proof-id-store.js';
import { createTokenVerifier, verifierSettings } from './token-verifier.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

export interface AuthenticateOptions {
  /**
   * Where DPoP proof ids are remembered against replay: this process's memory (memoryProofIdStore) or Redis, as the
   * shareable state was opened (state/shareable-state.ts).
   */
  proofIds: ProofIdStore;
  /** Told of each request the API itself makes to an authorization server for its keys (for metrics). */
  onIssuerFetch?: (kind: 'discovery' | 'jwks', outcome: 'ok' | 'error') => void;
  /** Told of each token verified in full (a cache miss), with its outcome. */
  onVerification?: (outcome: 'accepted' | 'refused') => void;
  /**
   * Runs when a request presented credentials that were refused (e.g. to count it against its address); what it
   * returns (429 over the address's limit) is the answer instead.
   */
  onRefused?: (req: Request, res: Response) => HttpError | undefined;
  /**
   * Runs as a verified caller is admitted, before the route (e.g. to count the request against its user); what it
   * returns (429 over the user's limit) is the answer instead. A callback rather than a middleware after this one:
   * each route handler Express passes costs every request (see docs/performance.md).
   */
  onAdmitted?: (req: Request, res: Response, caller: Caller) => HttpError | undefined;
  /**
   * Answers a refused request right here: 401/403 with its challenge, or the 429 of `onRefused` or `onAdmitted`.
   * Without it the refusal goes to Express's error handler, which is the same answer reached by walking every
   * remaining route first: refusals are the cheap path a flood of forged tokens takes, so they should cost less
   * than a success, not more.
   */
  answerRefusal?: (error: HttpError, req: Request, res: Response, scheme: Scheme | undefined) => void;
  /** Opaque tokens (RFC 7662), when `ACCESS_TOKEN_FORMAT` has an issuer issue them: who to ask, the shared cache, metrics. */
  introspection?: IntrospectionSetup;
}

export interface Authenticate extends RequestHandler {
  /** The cache of verified tokens (for metrics and tests). */
  readonly cache: VerifiedTokenCache;
  /** The introspection path for opaque tokens, when configured (its readiness check, its cache). */
  readonly introspection: Introspection | undefined;
  /** Stops watching the issuers' key sets. */
  close(): void;
}

/**
 * Builds the middleware that admits a request only with a valid access token from the Authorization header
 * (Bearer, or DPoP with a fresh proof, as `DPOP` allows), from an application on `ALLOWED_CLIENT_IDS` when that
 * is set. Routes behind it read the caller with `callerOf`. Bearer tokens already verified are served from a
 * bounded cache (see VerifiedTokenCache for why that weakens nothing).
 */
export function createAuthenticate(config: Config, issuers: readonly string[], options: AuthenticateOptions): Authenticate {
  const verify = createTokenVerifier(verifierSettings(config, issuers));
  const replayChecker = new DpopReplayChecker(options.proofIds, config.DPOP_PROOF_MAX_AGE_SECONDS + config.CLOCK_TOLERANCE_SECONDS);
  // Opaque tokens: the same checks and errors as JWTs, on the issuer's introspection answer (auth/introspection/).
  const introspection = openIntrospection(config, issuers, { ...options.introspection, recordProof: (proof) => replayChecker.check(proof) });
  const allowedClients = config.ALLOWED_CLIENT_IDS ? new Set(config.ALLOWED_CLIENT_IDS) : undefined;
  const cache = new VerifiedTokenCache(config.TOKEN_CACHE_SIZE, config.CLOCK_TOLERANCE_SECONDS * 1000);
  const nonces = config.DPOP_NONCE === 'required' ? new DpopNonces({ secret: config.DPOP_NONCE_SECRET }) : undefined;
  // A key set fetched again may have lost a key: nothing verified with the old set is trusted any longer.
  const stopWatching = observeIssuerRequests(issuers, (kind) => {
    if (kind === 'jwks') cache.clear();
  });

  const gate = new KeyIdGate({
    issuers,
    jwksUri: config.JWKS_URI,
    timeoutMs: config.ISSUER_TIMEOUT_MS,
    minIntervalMs: config.JWKS_COOLDOWN_MS,
    maxBackoffMs: config.JWKS_MAX_BACKOFF_MS,
    // The library fetches each issuer's key set for its first token anyway; the gate learns from that verification.
    deferFirstFetch: true,
    ...(options.onIssuerFetch ? { onFetch: options.onIssuerFetch } : {}),
  });
  /**
   * Lets a token on to verification only when its issuer publishes the key it names (see KeyIdGate); returns what
   * the token names, to tell the gate the outcome. Not a JWT at all: the library refuses it, and names the reason.
   */
  const admitKeyOf = async (token: string): Promise<{ iss: unknown; kid: unknown; alg: unknown } | undefined> => {
    let header: ProtectedHeaderParameters, payload: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      payload = decodeJwt(token);
    } catch {
      return undefined;
    }
    const named = { iss: payload.iss, kid: header.kid, alg: header.alg };
    await gate.admit(named.iss, named.kid, named.alg);
    return named;
  };

  /** Verifies the token for real (the library: signature, issuer, audience, times; DPoP proof), filling the cache. */
  const verifyInFull = async (req: Request, scheme: Scheme, token: string, key: string | undefined): Promise<Caller> => {
    const named = await admitKeyOf(token);
    let claims: JWTPayload;
    try {
      claims = await verify(req);
    } catch (error) {
      if (named) gate.settled(named.iss, named.kid, named.alg, outcomeOf(error));
      if (key !== undefined && error instanceof InvalidTokenError && error.permanent) cache.refuse(key, error);
      throw error;
    }
    // The signature held, so the header's kid and alg are the issuer's own.
    if (named) gate.settled(claims.iss, named.kid, named.alg, 'verified');
    // Only now, and only these: before the signature holds the header is anyone's text.
    if (named) describeCurrentSpan({ 'auth.token.kid': String(named.kid), 'auth.token.alg': String(named.alg) });
    if (scheme === 'dpop') {
      // The library checked the proof's signature, htm, htu, iat, ath and key binding; replays are ours to catch.
      await replayChecker.check(req.headers.dpop as string);
      return callerFromClaims(claims, config.PERMISSIONS_CLAIM, scheme);
    }
    const caller = callerFromClaims(claims, config.PERMISSIONS_CLAIM, scheme);
    // A DPoP-bound token is refused as Bearer by the library; only plain bearer tokens are cached.
    if (key !== undefined && claims.cnf === undefined) cache.accept(key, caller);
    return caller;
  };

  // Requests that bring the same bearer token before it is cached (an app's first burst after sign-in, or a flood of
  // one forged token) share one verification: its outcome does not depend on the request, as for a cache hit.
  const verifying = new Map<string, Promise<Caller>>();
  /** A cache miss: verifies in full (once for concurrent requests with one bearer token), counted by outcome. */
  const verifyCaller = (req: Request, scheme: Scheme, token: string, key: string | undefined): Promise<Caller> => {
    const pending = key === undefined ? undefined : verifying.get(key);
    if (pending) return pending;
    const verification = verifyInFull(req, scheme, token, key).then(
      (caller) => {
        options.onVerification?.('accepted');
        return caller;
      },
      (error: unknown) => {
        options.onVerification?.('refused');
        throw error;
      },
    );
    if (key === undefined) return verification; // DPoP: every proof is new, nothing to share
    const shared = verification.finally(() => verifying.delete(key));
    verifying.set(key, shared);
    return shared;
  };

  const admit = (req: Request, res: Response, caller: Caller, next: NextFunction): void => {
    if (allowedClients && (caller.clientId === null || !allowedClients.has(caller.clientId))) {
      throw new ForbiddenError('client-not-allowed', 'Client Not Allowed', 'This application is not allowed to call this API.');
    }
    setCaller(req, caller);
    const instead = options.onAdmitted?.(req, res, caller);
    if (instead) return answer(req, res, next, instead, caller.scheme);
    next();
  };

  const refuse = (req: Request, res: Response, next: NextFunction, error: unknown, scheme?: Scheme): void => {
    if (!(error instanceof AuthError)) return next(error);
    const instead = req.headers.authorization === undefined ? undefined : options.onRefused?.(req, res);
    answer(req, res, next, instead ?? error, scheme);
  };

  const answer = (req: Request, res: Response, next: NextFunction, error: HttpError, scheme: Scheme | undefined): void => {
    if (options.answerRefusal) options.answerRefusal(error, req, res, scheme);
    else next(error);
  };

  // Synchronous when the token is in the cache: no promise, no microtask, on the path nearly every request takes.
  const authenticate: RequestHandler = (req, res, next) => {
    let scheme: Scheme;
    let token: string;
    let key: string | undefined;
    let introspected = false;
    try {
      ({ scheme, token } = readCredentials(req, config.DPOP));
      if (scheme === 'dpop' && nonces) {
        // Every answer to a DPoP request carries the nonce to use next (RFC 9449 §8.2), refusals included.
        res.setHeader('DPoP-Nonce', nonces.current());
        // Before the signatures are checked: a proof without a current nonce is refused whatever else it holds.
        const nonce = nonceOf(req.headers.dpop as string);
        if (nonce !== NOT_READ && !nonces.accepts(nonce)) return refuse(req, res, next, USE_DPOP_NONCE, scheme);
      }
      if (introspection?.takes(token)) {
        introspected = true;
        key = VerifiedTokenCache.keyOf(token);
        const known = scheme === 'bearer' ? introspection.cachedCaller(key) : undefined;
        if (known instanceof Error) return refuse(req, res, next, known, scheme);
        if (known) return admit(req, res, known, next);
      } else if (scheme === 'bearer') {
        key = VerifiedTokenCache.keyOf(token);
        const cached = cache.get(key);
        if (cached) spanNow(VERIFY_SPAN, { 'auth.scheme': scheme, 'auth.token.cache': 'refusal' in cached ? 'hit-refused' : 'hit' });
        if (cached && 'refusal' in cached) return refuse(req, res, next, cached.refusal, scheme);
        if (cached) return admit(req, res, cached.caller, next);
      }
    } catch (error) {
      return refuse(req, res, next, error);
    }
    const cacheUse = introspected ? 'introspection' : key === undefined ? 'none' : 'miss'; // DPoP requests are never cached
    const caller = inSpan(VERIFY_SPAN, { 'auth.scheme': scheme, 'auth.token.cache': cacheUse }, () =>
      introspected ? introspection!.callerOf(req, scheme, token, key!) : verifyCaller(req, scheme, token, key),
    );
    return caller.then(
      (caller) => admit(req, res, caller, next),
      (error: unknown) => refuse(req, res, next, error, scheme),
    );
  };
  return Object.assign(authenticate, { cache, introspection, close: stopWatching });
}

/** The span of a token's verification: its scheme, the cache's answer, the key id once the signature held; never a claim. */
const VERIFY_SPAN = 'verify access token';

/** What nonceOf returns for a proof it cannot read: the nonce check lets it by, for the library to refuse as malformed. */
const NOT_READ: unique symbol = Symbol('not read');

/** The `nonce` claim of a DPoP proof, read without verifying it (the library verifies the proof next). */
function nonceOf(proof: string): unknown {
  try {
    return decodeJwt(proof).nonce;
  } catch {
    return NOT_READ;
  }
}

/** How a verification ended, for the key-id gate. */
function outcomeOf(error: unknown): 'unknown-key' | 'unreachable' | 'refused' {
  if (error instanceof UnknownKeyError) return 'unknown-key';
  return error instanceof ServiceUnavailableError ? 'unreachable' : 'refused';
}
