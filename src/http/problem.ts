import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';
import { HttpError } from '../errors.js';
import { sendJsonText } from './json-response.js';

/** Sends an RFC 9457 problem: `application/problem+json`, never HTML, never a stack trace. */
export function sendProblem(req: Request, res: Response, error: HttpError): void {
  const requestId = (req as Request & { id?: unknown }).id;
  const body = {
    type: error.type,
    title: error.title,
    status: error.status,
    detail: error.expose ? error.message : 'The server could not complete the request. It has been logged.',
    instance: req.path,
    ...(typeof requestId === 'string' ? { request_id: requestId } : {}),
    ...error.extensions,
  };
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  sendJsonText(res, JSON.stringify(body), error.status, 'application/problem+json; charset=utf-8');
}

/** A plain HTTP error (about:blank) with the status' own phrase as its title. */
export function plainHttpError(status: number, detail: string): HttpError {
  return new HttpError({ status, title: STATUS_CODES[status] ?? 'Error', detail });
}
