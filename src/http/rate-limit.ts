import type { Request, RequestHandler, Response } from 'express';
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
 * What one client address may send without a valid token. Requests that carry credentials are not counted on
 * arrival; only if their credentials are refused (`countRefused`), so users behind one carrier NAT do not share
 * a budget and valid requests pay nothing here.
 */
export function limitAnonymous(settings: RateLimitSettings): { middleware: RequestHandler; countRefused: (req: Request, res: Response) => Promise<void> } {
  const limiter = rateLimit({
    ...common(settings.windowSeconds),
    identifier: 'anonymous',
    limit: settings.perIp,
    keyGenerator: (req) => ipKeyGenerator(req.ip ?? 'unknown'),
  });
  // Decided before entering the limiter, so a request with credentials costs one comparison here.
  const middleware: RequestHandler = (req, res, next) =>
    req.headers.authorization !== undefined || PROBES.has(req.path.replace(/\/+$/, '')) ? next() : limiter(req, res, next);
  const countRefused = (req: Request, res: Response) =>
    new Promise<void>((resolve, reject) => {
      void limiter(req, res, (error?: unknown) => (error === undefined ? resolve() : reject(error)));
    });
  return { middleware, countRefused };
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
