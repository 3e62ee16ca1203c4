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
  /** Express's `trust proxy` setting (TRUST_PROXY), which decides a request's client address. */
  trustProxy: boolean | number | string;
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
 * express-rate-limit's own MemoryStore, with one synchronous method for the hot path: the store's methods return
 * promises, and awaiting one on every authenticated request would move the rest of each request to a microtask
 * (measured: see docs/performance.md). `hit` does what the store's `increment` does, on the store's public maps, so
 * the library's middleware and `hit` count in the same windows.
 */
class CountingStore extends MemoryStore {
  hit(key: string, now: number): WindowCount {
    let client = this.current.get(key);
    if (client === undefined) {
      client = this.previous.get(key) ?? { totalHits: 0, resetTime: new Date(now + this.windowMs) };
      this.previous.delete(key);
      this.current.set(key, client);
    }
    if (client.resetTime.getTime() <= now) {
      client.totalHits = 0;
      client.resetTime = new Date(now + this.windowMs);
    }
    client.totalHits += 1;
    return client;
  }
}

interface WindowCount {
  totalHits: number;
  resetTime: Date;
}

/**
 * Counts one request against `key`, sets the draft-8 `RateLimit` headers as express-rate-limit does, and throws
 * TooManyRequestsError over the limit. Used where a request is already known to count, without the library's
 * middleware (six promise hops, a SHA-256 and debug logging per request); synchronous, so a request that passes
 * goes on in the same tick.
 */
function createCounter(name: string, limit: number, windowSeconds: number) {
  const store = new CountingStore();
  store.init({ windowMs: windowSeconds * 1000 } as Options);
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
  const count = (res: Response, key: string): void => {
    const now = Date.now();
    const { totalHits, resetTime } = store.hit(key, now);
    const resetSeconds = Math.max(0, Math.ceil((resetTime.getTime() - now) / 1000));
    appendHeader(res, 'RateLimit', `"${name}"; r=${Math.max(limit - totalHits, 0)}; t=${resetSeconds}`);
    appendHeader(res, 'RateLimit-Policy', policyOf(key));
    if (totalHits > limit) {
      res.setHeader('Retry-After', String(resetSeconds));
      throw new TooManyRequestsError();
    }
  };
  return { store, count };
}

/** Adds a field value (a request counted by two limits carries both), without Express's `res.append` re-parsing. */
function appendHeader(res: Response, name: string, value: string): void {
  const existing = res.getHeader(name);
  res.setHeader(name, existing === undefined ? value : [...(Array.isArray(existing) ? existing : [String(existing)]), value]);
}

/** How many keys' policy headers, and addresses' keys, are remembered before starting afresh. */
const MAX_REMEMBERED_KEYS = 10_000;

/**
 * What one client address may send without a valid token. Requests that carry credentials are not counted on
 * arrival; only if their credentials are refused (`countRefused`), so users behind one carrier NAT do not share
 * a budget and valid requests pay nothing here.
 */
export function limitAnonymous(settings: RateLimitSettings): { middleware: RequestHandler; countRefused: (req: Request, res: Response) => void } {
  const counter = createCounter('anonymous', settings.perIp, settings.windowSeconds);
  // An IPv6 client counts by its /56 (ipKeyGenerator), which takes parsing the address twice: remembered per address
  // (bounded), as a flood of refused tokens comes from few addresses and each of its requests would pay it again.
  const keys = new Map<string, string>();
  // Trusting no proxy, Express's req.ip is the connection's address, reached by parsing X-Forwarded-For first.
  const trustsNoProxy = settings.trustProxy === false || settings.trustProxy === 0;
  const addressOf = (req: Request): string => {
    const ip = (trustsNoProxy ? req.socket.remoteAddress : req.ip) ?? 'unknown';
    let key = keys.get(ip);
    if (key === undefined) {
      if (keys.size >= MAX_REMEMBERED_KEYS) keys.clear();
      key = ipKeyGenerator(ip);
      keys.set(ip, key);
    }
    return key;
  };
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
  const limitUser: RequestHandler = (req, res, next) => {
    const caller = callerOf(req);
    counter.count(res, `${caller.issuer} ${caller.sub}`);
    next();
  };
  return limitUser;
}
