import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';
import { HttpError } from '../errors.js';
import { sendJsonText } from './json-response.js';

const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

/** Sends an RFC 9457 problem: `application/problem+json`, never HTML, never a stack trace. */
export function sendProblem(req: Request, res: Response, error: HttpError): void {
  for (const name in error.headers) res.setHeader(name, error.headers[name]!);
  sendJsonText(res, problemJson(error, req.path, (req as Request & { id?: unknown }).id), error.status, PROBLEM_TYPE);
}

// What a problem says that depends on the error alone, serialised once per error object: a refusal the token cache
// holds is one object for every request that brings its token (a flood of one forged token). Errors are not changed
// once thrown; a fresh one's entry goes with it.
const templates = new WeakMap<HttpError, { head: string; tail: string }>();

/**
 * The problem's JSON text: `type`, `title`, `status`, `detail`, `instance` and `request_id` (when the request has
 * one), then the error's extensions, which cannot redefine those (ProblemExtensions). Each part is JSON.stringify's.
 */
export function problemJson(error: HttpError, instance: string, requestId: unknown): string {
  let template = templates.get(error);
  if (template === undefined) {
    const head = JSON.stringify({
      type: error.type,
      title: error.title,
      status: error.status,
      detail: error.expose ? error.message : 'The server could not complete the request. It has been logged.',
    });
    const extensions = JSON.stringify(error.extensions);
    template = { head: head.slice(0, -1), tail: extensions === '{}' ? '}' : `,${extensions.slice(1)}` };
    templates.set(error, template);
  }
  const id = typeof requestId === 'string' ? `,"request_id":${JSON.stringify(requestId)}` : '';
  return `${template.head},"instance":${JSON.stringify(instance)}${id}${template.tail}`;
}

/** A plain HTTP error (about:blank) with the status' own phrase as its title. */
export function plainHttpError(status: number, detail: string): HttpError {
  return new HttpError({ status, title: STATUS_CODES[status] ?? 'Error', detail });
}
