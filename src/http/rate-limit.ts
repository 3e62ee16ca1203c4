import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { findCaller } from '../auth/index.js';
import { HttpError } from '../errors.js';

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

/** Load balancers and orchestrators call these constantly; limiting them would take healthy replicas out. */
const PROBES = new Set(['/healthz', '/readyz']);

export interface RateLimitSettings {
  windowSeconds: number;
  perUser: number;
  perIp: number;
}

const common = (windowSeconds: number) => ({
  windowMs: windowSeconds * 1000,
  standardHeaders: 'draft-8' as const,
  legacyHeaders: false,
  handler: (() => {
    throw new TooManyRequestsError();
  }) as RequestHandler,
});

/**
 * Limits what a client address may send without a valid token (bad tokens, anonymous calls): requests that
 * turn out to be authenticated are given back, so users behind one carrier NAT do not share a budget.
 */
export function limitAnonymous(settings: RateLimitSettings): RequestHandler {
  return rateLimit({
    ...common(settings.windowSeconds),
    identifier: 'anonymous',
    limit: settings.perIp,
    keyGenerator: (req) => ipKeyGenerator(req.ip ?? 'unknown'),
    skip: (req) => PROBES.has(req.path.replace(/\/+$/, '')),
    skipSuccessfulRequests: true,
    requestWasSuccessful: (req) => findCaller(req) !== undefined,
  });
}

/** Limits each signed-in user (`iss` + `sub`), whichever device or address the requests come from. */
export function limitPerUser(settings: RateLimitSettings): RequestHandler {
  return rateLimit({
    ...common(settings.windowSeconds),
    identifier: 'user',
    limit: settings.perUser,
    keyGenerator: (req) => {
      const caller = findCaller(req);
      return caller ? `${caller.issuer} ${caller.sub}` : ipKeyGenerator(req.ip ?? 'unknown');
    },
  });
}
