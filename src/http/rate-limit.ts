import type { Request, RequestHandler, Response } from 'express';
import { hash } from 'node:crypto';
import { ipKeyGenerator, MemoryStore, rateLimit, type Options } from 'express-rate-limit';
import { callerOf } from '../auth/index.js';
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

export interface RateLimitSettings {
  windowSeconds: number;
  perUser: number;
  perIp: number;
}

/** Load balancers and orchestrators call these constantly; limiting them would take healthy replicas out. */
const PROBES = new Set(['/healthz', '/readyz']);

const common = (windowSeconds: number) => ({
  windowMs: windowSeconds * 1000,
  standardHeaders: 'draft-8' as const,
  legacyHeaders: false,
  handler: (() => {
    throw new TooManyRequestsError();
  }) as RequestHandler,
});

/**
 * Counts one request against `key` in `store` (express-rate-limit's own), sets the draft-8 `RateLimit` headers as
 * express-rate-limit does, and refuses the request with 429 over the limit. Used where a request is already known
 * to count, without the library's middleware (six promise hops, a SHA-256 and debug logging per request).
 */
function createCounter(name: string, limit: number, windowSeconds: number) {
  const windowMs = windowSeconds * 1000;
  const store = new MemoryStore();
  store.init({ windowMs } as Options);
  // The policy header names the key's partition by a hash of it: made once per key (bounded), not per request.
  const policies = new Map<string, string>();
  const policyOf = (key: string): string => {
    let policy = policies.get(key);
    if (policy === undefined) {
      if (policies.size >= MAX_REMEMBERED_POLICIES) policies.clear();
      policy = `"${name}"; q=${limit}; w=${windowSeconds}; pk=:${Buffer.from(hash('sha256', key, 'hex').slice(0, 12)).toString('base64')}:`;
      policies.set(key, policy);
    }
    return policy;
  };
  const count = async (res: Response, key: string): Promise<void> => {
    const policy = policyOf(key);
    const { totalHits, resetTime } = await store.increment(key);
    const resetSeconds = Math.max(0, Math.ceil(((resetTime?.getTime() ?? Date.now() + windowMs) - Date.now()) / 1000));
    res.append('RateLimit', `"${name}"; r=${Math.max(limit - totalHits, 0)}; t=${resetSeconds}`);
    res.append('RateLimit-Policy', policy);
    if (totalHits > limit) {
      res.setHeader('Retry-After', String(resetSeconds));
      throw new TooManyRequestsError();
    }
  };
  return { store, count };
}

const MAX_REMEMBERED_POLICIES = 10_000;

/**
 * What one client address may send without a valid token. Requests that carry credentials are not counted on
 * arrival; only if their credentials are refused (`countRefused`), so users behind one carrier NAT do not share
 * a budget and valid requests pay nothing here.
 */
export function limitAnonymous(settings: RateLimitSettings): { middleware: RequestHandler; countRefused: (req: Request, res: Response) => Promise<void> } {
  const counter = createCounter('anonymous', settings.perIp, settings.windowSeconds);
  const addressOf = (req: Request) => ipKeyGenerator(req.ip ?? 'unknown');
  const limiter = rateLimit({
    ...common(settings.windowSeconds),
    identifier: 'anonymous',
    limit: settings.perIp,
    store: counter.store,
    keyGenerator: addressOf,
  });
  // Decided before entering the limiter, so a request with credentials costs one comparison here.
  const middleware: RequestHandler = (req, res, next) =>
    req.headers.authorization !== undefined || PROBES.has(req.path.replace(/\/+$/, '')) ? next() : limiter(req, res, next);
  return { middleware, countRefused: (req, res) => counter.count(res, addressOf(req)) };
}

/** Limits each signed-in user (`iss` + `sub`), whichever device or address the requests come from. */
export function limitPerUser(settings: RateLimitSettings): RequestHandler {
  const counter = createCounter('user', settings.perUser, settings.windowSeconds);
  const limitUser: RequestHandler = async (req, res, next) => {
    const caller = callerOf(req);
    await counter.count(res, `${caller.issuer} ${caller.sub}`);
    next();
  };
  return limitUser;
}
