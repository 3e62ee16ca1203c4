import type { Request, RequestHandler, Response } from 'express';
import { STARTED } from './request-state.js';

/**
 * Work that every request needs before routing and after its response: setting headers, logging, timing.
 * `onRequest` may throw an HttpError to refuse the request (it is still logged and timed).
 */
export interface RequestHook {
  onRequest?(req: Request, res: Response): void;
  onFinish?(req: Request, res: Response, elapsedMs: number): void;
}

/**
 * Runs the hooks as one middleware with one `finish` listener, rather than one middleware (and one listener)
 * each: they run on every request, and each layer of Express routing costs (see docs/benchmarks.md).
 */
export function frontDoor(hooks: readonly RequestHook[]): RequestHandler {
  const starts = hooks.flatMap((hook) => (hook.onRequest ? [hook.onRequest.bind(hook)] : []));
  const finishes = hooks.flatMap((hook) => (hook.onFinish ? [hook.onFinish.bind(hook)] : []));
  // One listener shared by every response (it is called with the response as `this`), the start time kept on the
  // response: no closure is made per request.
  function finished(this: Timed) {
    const elapsedMs = performance.now() - this[STARTED];
    for (const finish of finishes) finish(this.req, this, elapsedMs);
  }
  return (req, res, next) => {
    (res as Timed)[STARTED] = performance.now();
    if (finishes.length > 0) res.on('finish', finished);
    for (const start of starts) start(req, res);
    next();
  };
}

type Timed = Response & { [STARTED]: number };
