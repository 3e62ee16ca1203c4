import type { RequestHandler } from 'express';
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

export const notFound: RequestHandler = () => {
  throw new NotFoundError();
};

/** Responses that carry a user's data must never be stored by a cache on the way (RFC 9111 §5.2.2.5). */
export const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};

/** Refuses URLs longer than `maxLength` characters with 414, before any route parses them. */
export function limitUrlLength(maxLength: number): RequestHandler {
  const urlLengthLimit: RequestHandler = (req, _res, next) => {
    if (req.originalUrl.length > maxLength) {
      throw new HttpError({ status: 414, title: 'URI Too Long', detail: `The URL is longer than ${maxLength} characters.` });
    }
    next();
  };
  return urlLengthLimit;
}
