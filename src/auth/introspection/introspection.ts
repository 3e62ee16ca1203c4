import type { Request } from 'express';
import { decodeJwt } from 'jose';
import type { DpopMode, Scheme } from '../challenge.js';
import type { Caller } from '../caller.js';
import { issuerUnreachable } from '../auth-errors.js';
import type { ReadinessCheck } from '../../readiness.js';
import { createCircuitBreaker } from './circuit-breaker.js';
import { checkDpopProof } from './dpop-proof.js';
import { sameAsForJwt, verdictOn, type IntrospectionClaims, type IntrospectionVerdict } from './introspected-token.js';
import { memoryIntrospectionCache, type CachedIntrospection, type IntrospectionCache } from './introspection-cache.js';
import type { IntrospectionClient } from './introspection-client.js';

/** How an introspection ended, for the metric: the issuer's answer, or `error` (no usable answer). */
export type IntrospectionOutcome = 'active' | 'inactive' | 'error';

export interface IntrospectionOptions {
  client: IntrospectionClient;
  /** Which tokens are introspected rather than verified as JWTs (see `introspectedTokens`). */
  takes: (token: string) => boolean;
  audience: string;
  clockToleranceSeconds: number;
  permissionsClaim: string | undefined;
  dpop: DpopMode;
  dpopProofMaxAgeSeconds: number;
  /** Longest reuse of an answer, in seconds (0: none). */
  cacheSeconds: number;
  /** Answers kept in this process at most. */
  cacheSize: number;
  /** Answers shared with other replicas (Redis); this process's memory always answers first. */
  shared?: IntrospectionCache | undefined;
  /** Records a DPoP proof against replay (as for JWTs); rejects on a replay. */
  recordProof: (proof: string) => Promise<void>;
  /** Told of each introspection with its outcome and duration, and of the error when there was one. */
  onIntrospection?: (outcome: IntrospectionOutcome, seconds: number, error?: unknown) => void;
}

/** Opaque access tokens, checked at the issuer's introspection endpoint (RFC 7662). */
export interface Introspection {
  /** Whether this token is one to introspect (not a JWT of an issuer that signs them). */
  takes(token: string): boolean;
  /**
   * The caller of a bearer token whose answer this process holds (or its refusal), without waiting; else undefined.
   * `tokenHash` is `VerifiedTokenCache.keyOf(token)`: answers are kept by it, never by the token.
   */
  cachedCaller(tokenHash: string): Caller | Error | undefined;
  /**
   * The caller of the request's token, asking the issuer when no answer is held; rejects with the refusal or a 503.
   * `tokenHash` as for `cachedCaller` (it is also what a DPoP proof's `ath` must be).
   */
  callerOf(req: Request, scheme: Scheme, token: string, tokenHash: string): Promise<Caller>;
  /** `/readyz`'s `introspection` check: the endpoint is not failing (its breaker is closed). Not essential. */
  readonly readiness: readonly ReadinessCheck[];
  /** Answers held in this process (for the memory bound). */
  readonly size: number;
}

/** An inactive answer is reused at most this long: a flood of one bad token costs one call, and memory stays small. */
const INACTIVE_REUSE_MS = 10_000;

/**
 * Builds the introspection path: each token's answer cached by its SHA-256 (never the token) until the earlier of its
 * `exp` and `cacheSeconds`, inactive answers briefly; concurrent requests with one uncached token share one call; a
 * failing endpoint answers 503 with `Retry-After` for uncached tokens while cached ones keep working, and after five
 * failures in a row a breaker stops calling it for a while (1 s, doubling to 30 s).
 */
export function createIntrospection(options: IntrospectionOptions): Introspection {
  const local = memoryIntrospectionCache(options.cacheSize);
  const verdicts = new WeakMap<CachedIntrospection, IntrospectionVerdict>();
  const breaker = createCircuitBreaker({ failures: 5, openMs: 1000, maxOpenMs: 30_000 });
  const asking = new Map<string, Promise<CachedIntrospection>>();
  let issuer: string | undefined;

  const verdictOf = (entry: CachedIntrospection): IntrospectionVerdict => {
    let verdict = verdicts.get(entry);
    if (!verdict) {
      verdict = verdictOn(entry.claims, { issuer: issuer ?? '', audience: options.audience, clockToleranceSeconds: options.clockToleranceSeconds, permissionsClaim: options.permissionsClaim });
      verdicts.set(entry, verdict);
    }
    return verdict;
  };

  /** The issuer's own name, which a shared answer is checked against; false when it cannot be learned now. */
  const knownIssuer = async (): Promise<boolean> => {
    issuer ??= await options.client.issuer().catch(() => undefined);
    return issuer !== undefined;
  };

  const ask = async (token: string, key: string): Promise<CachedIntrospection> => {
    const wait = breaker.waitMs();
    if (wait > 0) throw unreachable(undefined, wait);
    const started = performance.now();
    let answer;
    try {
      answer = await options.client.introspect(token);
    } catch (error) {
      breaker.failed();
      options.onIntrospection?.('error', (performance.now() - started) / 1000, error);
      throw unreachable(error);
    }
    breaker.succeeded();
    options.onIntrospection?.(answer.claims ? 'active' : 'inactive', (performance.now() - started) / 1000);
    issuer = answer.issuer;
    const entry = { claims: answer.claims, expiresAtMs: reuseUntil(answer.claims, options.cacheSeconds, Date.now()) };
    if (options.cacheSeconds > 0) {
      void local.set(key, entry);
      // Another replica may use it; a shared cache that fails only costs that replica a call.
      void options.shared?.set(key, entry).catch(() => undefined);
    }
    return entry;
  };

  /** The answer for a token: this process's, the replicas' shared one, or the issuer's (one call for concurrent requests). */
  const answerFor = async (token: string, key: string): Promise<CachedIntrospection> => {
    const held = local.peek(key);
    if (held) return held;
    const pending = asking.get(key);
    if (pending) return pending;
    const asked = (async () => {
      const shared = await options.shared?.get(key).catch(() => undefined);
      if (shared && shared.expiresAtMs > Date.now() && (await knownIssuer())) {
        void local.set(key, shared);
        return shared;
      }
      return ask(token, key);
    })().finally(() => asking.delete(key));
    asking.set(key, asked);
    return asked;
  };

  const callerFor = (verdict: IntrospectionVerdict, scheme: Scheme): Caller => {
    if ('refusal' in verdict) throw verdict.refusal;
    if (scheme === 'bearer' && verdict.jkt !== undefined && options.dpop === 'allowed') throw BOUND_TOKEN_AS_BEARER;
    return verdict.caller;
  };

  return {
    takes: options.takes,
    cachedCaller(tokenHash) {
      const entry = local.peek(tokenHash);
      if (!entry) return undefined;
      try {
        return callerFor(verdictOf(entry), 'bearer');
      } catch (refusal) {
        return refusal as Error;
      }
    },
    async callerOf(req, scheme, token, tokenHash) {
      const verdict = verdictOf(await answerFor(token, tokenHash));
      const caller = callerFor(verdict, scheme);
      if (scheme === 'bearer') return caller;
      const jkt = 'jkt' in verdict ? verdict.jkt : undefined;
      if (jkt === undefined) throw sameAsForJwt('JWT Access Token has no jkt confirmation claim');
      await checkDpopProof(req, tokenHash, jkt, { maxAgeSeconds: options.dpopProofMaxAgeSeconds, clockToleranceSeconds: options.clockToleranceSeconds });
      await options.recordProof(req.headers.dpop as string);
      return { ...caller, scheme: 'dpop' };
    },
    readiness: [{ name: 'introspection', essential: false, ready: async () => !breaker.open }],
    get size() {
      return local.size;
    },
  };
}

const BOUND_TOKEN_AS_BEARER = sameAsForJwt('DPoP-bound token requires the DPoP authentication scheme, not Bearer.');

/** Until when an answer may be reused: never past `exp` (nor before `nbf`, which would change the verdict). */
function reuseUntil(claims: IntrospectionClaims | null, cacheSeconds: number, now: number): number {
  if (claims === null) return now + Math.min(INACTIVE_REUSE_MS, cacheSeconds * 1000);
  let until = now + cacheSeconds * 1000;
  if (typeof claims.exp === 'number') until = Math.min(until, claims.exp * 1000);
  if (typeof claims.nbf === 'number' && claims.nbf * 1000 > now) until = Math.min(until, claims.nbf * 1000);
  return until;
}

/** 503 with `Retry-After`: the token may be fine, the issuer could not say (never a 401). */
function unreachable(cause: unknown, retryAfterMs = 5000) {
  const error = issuerUnreachable(cause);
  error.headers['Retry-After'] = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  return error;
}

/**
 * Which tokens go to introspection, from each issuer's format: none when every issuer signs JWTs; with `both`, any
 * token that is not shaped as a JWT; with `opaque`, also JWTs that name that issuer, or none of the JWT issuers (some
 * issuers' access tokens look like JWTs only the issuer may read, as Okta's org authorization server's).
 */
export function introspectedTokens(formats: ReadonlyMap<string, 'jwt' | 'opaque' | 'both'>): ((token: string) => boolean) | undefined {
  const introspecting = [...formats].find(([, format]) => format !== 'jwt');
  if (!introspecting) return undefined;
  const [, format] = introspecting;
  const jwtIssuers = new Set([...formats].filter(([, each]) => each !== 'opaque').map(([issuer]) => issuer));
  // Two dots, found without splitting: this runs before every JWT's cache lookup too.
  const isJwtShaped = (token: string): boolean => {
    const first = token.indexOf('.');
    const second = first === -1 ? -1 : token.indexOf('.', first + 1);
    return second !== -1 && token.indexOf('.', second + 1) === -1;
  };
  if (format === 'both') return (token) => !isJwtShaped(token);
  return (token) => {
    if (!isJwtShaped(token)) return true;
    try {
      const iss = decodeJwt(token).iss;
      return typeof iss !== 'string' || !jwtIssuers.has(iss);
    } catch {
      return true;
    }
  };
}
