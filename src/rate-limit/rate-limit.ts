import type { Request, RequestHandler, Response } from 'express';
import { hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Caller } from '../auth/index.js';
import { HttpError } from '../errors.js';
import type { RateLimitStore } from './rate-limit-store.js';
import { eventNow } from '../observability/tracing/spans.js';

export class TooManyRequestsError extends HttpError {
  constructor() {
    super({
      status: 429,
      slug: 'rate-limited',
      title: 'Too Many Requests',
      detail: 'Too many requests; retry after the number of seconds in Retry-After.',
      extensions: { action: 'retry' },
    });
  }
}

export interface RateLimitSettings {
  windowSeconds: number;
  perUser: number;
  perIp: number;
  /** The key a request's client is counted under by its address (clientKeyOf, which TRUST_PROXY decides). */
  clientKey: (req: Request) => string;
  /** Where the counts live: this process, or Redis for every replica (counted synchronously either way). */
  store: RateLimitStore;
}

/** Load balancers and orchestrators call these constantly; limiting them would take healthy replicas out. */
const PROBES = new Set(['/healthz', '/readyz']);

/**
 * Counts one request against `key`, sets the draft-8 `RateLimit` and `RateLimit-Policy` headers as
 * express-rate-limit's middleware does, and returns the TooManyRequestsError to answer with over the limit. Returned,
 * not thrown: a flood over its limit is an expected outcome, answered by the caller without unwinding through Express.
 * Synchronous, so a request that passes goes on in the same tick; a request counts against one limit at most (its
 * address or its user).
 */
function createCounter(name: string, limit: number, windowSeconds: number, store: RateLimitStore) {
  const counter = store.counter(name, windowSeconds * 1000);
  // The policy header names the key's partition by a hash of it: made once per key (bounded), not per request.
  const policies = new Map<string, string>();
  const policyOf = (key: string): string => {
    let policy = policies.get(key);
    if (policy === undefined) {
      if (policies.size >= MAX_REMEMBERED_KEYS) policies.clear();
      policy = `"${name}"; q=${limit}; w=${windowSeconds}; pk=:${Buffer.from(hash('sha256', key, 'hex').slice(0, 12)).toString('base64')}:`;
      policies.set(key, policy);
    }
    return policy;
  };
  // One error for every request over this limit: it says nothing about the request (Retry-After and the RateLimit
  // fields go on the response), so its problem body is serialised once and no stack is captured per refusal, the
  // answer a flood of requests gets.
  const overLimit = new TooManyRequestsError();
  const count = (res: Response, key: string): TooManyRequestsError | undefined => {
    const now = Date.now();
    const { totalHits, resetTime } = counter.hit(key, now);
    const resetSeconds = Math.max(0, Math.ceil((resetTime.getTime() - now) / 1000));
    res.setHeader('RateLimit', `"${name}"; r=${Math.max(limit - totalHits, 0)}; t=${resetSeconds}`);
    res.setHeader('RateLimit-Policy', policyOf(key));
    eventNow('rate limit', { 'ratelimit.policy': name, 'ratelimit.limit': limit, 'ratelimit.limited': totalHits > limit });
    if (totalHits > limit) {
      res.setHeader('Retry-After', String(resetSeconds));
      return overLimit;
    }
    return undefined;
  };
  return { count };
}

/** How many keys' policy headers are remembered before starting afresh. */
const MAX_REMEMBERED_KEYS = 10_000;

/**
 * What one client address may send without a valid token. A request without credentials counts on arrival (the
 * middleware, which runs in the app's first layer, after CORS: see app.ts); one with credentials counts only if
 * they are refused (`countRefused`), so users behind one carrier NAT do not share a budget and valid requests pay
 * nothing here. Probes and CORS preflights never count. Over the limit: 429 (TooManyRequestsError), before routing;
 * `countRefused` returns it, to be the answer instead of the refusal.
 */
export function limitAnonymous(settings: RateLimitSettings): {
  middleware: RequestHandler;
  countRefused: (req: Request, res: Response) => HttpError | undefined;
} {
  const counter = createCounter('anonymous', settings.perIp, settings.windowSeconds, settings.store);
  const { clientKey } = settings;
  const middleware: RequestHandler = (req, res, next) => {
    if (req.headers.authorization === undefined && !isPreflight(req) && !PROBES.has(req.path.replace(/\/+$/, ''))) {
      return next(counter.count(res, clientKey(req)));
    }
    next();
  };
  return { middleware, countRefused: (req, res) => counter.count(res, clientKey(req)) };
}

// A browser asks before a cross-origin call (Fetch standard, CORS protocol); the CORS middleware answers it.
const isPreflight = (req: IncomingMessage) => req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;

/**
 * Limits each signed-in user (`iss` + `sub`), whichever device or address the requests come from. Called by
 * authenticate as the caller is admitted (not a middleware of its own, for the same reason as above); returns
 * TooManyRequestsError over the limit, to be the answer instead of the route.
 */
export function limitPerUser(settings: RateLimitSettings): (req: Request, res: Response, caller: Caller) => HttpError | undefined {
  const counter = createCounter('user', settings.perUser, settings.windowSeconds, settings.store);
  return (_req, res, caller) => counter.count(res, `${caller.issuer} ${caller.sub}`);
}
