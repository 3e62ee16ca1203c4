import { STATUS_CODES } from 'node:http';
import type { Response } from 'express';
import { HttpError } from '../errors.js';

/** Sends an RFC 9457 problem: `application/problem+json`, never HTML, never a stack trace. */
export function sendProblem(res: Response, error: HttpError, instance: string): void {
  const body = {
    type: error.type,
    title: error.title,
    status: error.status,
    detail: error.expose ? error.message : 'The server could not complete the request. It has been logged.',
    instance,
    ...error.extensions,
  };
  res.status(error.status).set(error.headers).type('application/problem+json').send(JSON.stringify(body));
}

/** A plain HTTP error (about:blank) with the status' own phrase as its title. */
export function plainHttpError(status: number, detail: string): HttpError {
  return new HttpError({ status, title: STATUS_CODES[status] ?? 'Error', detail });
}
