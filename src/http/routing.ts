import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { RequestHook } from './front-door.js';
import { HttpError, MethodNotAllowedError, NotFoundError } from '../errors.js';

/**
 * The last handler of a route: OPTIONS is answered with `Allow`, any other method it does not serve is 405.
 *
 * @example router.route('/v1/notes').get(list).post(create).all(allowOnly('GET', 'POST'))
 */
export function allowOnly(...methods: string[]): RequestHandler {
  const allowed = [...new Set([...methods, ...(methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'])];
  const methodNotAllowed: RequestHandler = (req, res) => {
    if (req.method === 'OPTIONS') {
      res.set('Allow', allowed.join(', ')).status(204).end();
      return;
    }
    throw new MethodNotAllowedError(allowed);
  };
  return methodNotAllowed;
}

/**
 * Runs `handlers` one after another as a single route handler, the way Express runs a route's handlers (an error
 * thrown, passed to `next` or rejected goes to `next`; so does `next('route')`), without a dispatch step between
 * them: each handler a route has is one, and it costs every request that takes the route (see
 * docs/performance.md). For handlers that always run together, such as authentication and a route's guards.
 *
 * @example router.route('/v1/me').get(inSequence(authenticate, (req, res) => { … }))
 */
export function inSequence(...handlers: RequestHandler[]): RequestHandler {
  if (handlers.length === 0) throw new Error('inSequence() needs at least one handler');
  return handlers.reduceRight((then, first) => (req, res, next) =>
    first(req, res, (error?: unknown) => {
      if (error) return next(error);
      runHandler(then, req, res, next);
    }),
  );
}

/** Calls `handler` as Express calls one: what it throws, or the promise it returns rejects with, goes to `next`. */
function runHandler(handler: RequestHandler, req: Request, res: Response, next: NextFunction): void {
  try {
    const result: unknown = handler(req, res, next);
    if (isThenable(result)) result.then(undefined, (reason: unknown) => next(reason ?? new Error('Rejected promise')));
  } catch (thrown) {
    next(thrown);
  }
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';

// Every unknown URL gets the same answer: one error object, its problem body serialised once (see problem.ts).
const NO_SUCH_RESOURCE = new NotFoundError();

export const notFound: RequestHandler = () => {
  throw NO_SUCH_RESOURCE;
};

/**
 * Runs `handler` and answers what it throws or passes to `next` with `respond`, at once. For the app's first layer:
 * an error raised before routing (414, the anonymous 429) has no route to reach, and Express would carry it past
 * every route to the error handler first, on each request of a flood.
 */
export function answeringErrors(respond: (error: unknown, req: Request, res: Response) => void, handler: RequestHandler): RequestHandler {
  return (req, res, next) =>
    runHandler(handler, req, res, (error?: unknown) => {
      // `next('route')` and `next('router')` are routing signals, not errors: Express acts on them.
      if (error === undefined || error === null) next();
      else if (error === 'route' || error === 'router') next(error);
      else respond(error, req, res);
    });
}

/**
 * Responses under `prefix` carry a user's data: they must never be stored by a cache on the way
 * (RFC 9111 §5.2.2.5). Matches the prefix as a path segment, as `app.use(prefix)` would.
 */
export function noStoreUnder(prefix: string): RequestHook {
  return {
    onRequest(req, res) {
      const url = req.url;
      // Case-insensitive, like Express's own path matching.
      if (url.slice(0, prefix.length).toLowerCase() === prefix && (url.length === prefix.length || '/?#'.includes(url[prefix.length]!))) {
        res.setHeader('Cache-Control', 'no-store');
      }
    },
  };
}

/**
 * Refuses URLs longer than `maxLength` characters with 414, before any route parses them. A middleware after CORS
 * (see app.ts) rather than a front-door hook, so a browser app is told 414, not a CORS failure.
 */
export function limitUrlLength(maxLength: number): RequestHandler {
  return (req, _res, next) => {
    if (req.url.length > maxLength) {
      throw new HttpError({ status: 414, title: 'URI Too Long', detail: `The URL is longer than ${maxLength} characters.` });
    }
    next();
  };
}
