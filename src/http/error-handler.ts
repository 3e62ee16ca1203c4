import type { ErrorRequestHandler, Request, Response } from 'express';
import { AuthError, buildChallenge, schemeOf, type ChallengeSettings, type Scheme } from '../auth/index.js';
import {
  DatabaseUnavailableError,
  HttpError,
  MalformedJsonError,
  PayloadTooLargeError,
  StorageUnavailableError,
  UnsupportedMediaTypeError,
} from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { JSON_BODY_LIMIT_BYTES, JSON_MEDIA_TYPES } from './json-body.js';
import { noteRefusal } from './request-logging.js';
import { recordProblem } from '../observability/tracing/spans.js';
import { plainHttpError, sendProblem } from './problem.js';

export interface ProblemResponderOptions {
  challenge: ChallengeSettings;
  /** The protected resource metadata URL every 401 points at (RFC 9728 §5.1), from the configuration. */
  resourceMetadataUrl: string;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Turns anything thrown into the response: a problem body, logged by its severity. `scheme` is the one the request's
 * credentials were read with, when the caller knows it (otherwise it is read again from the Authorization header).
 */
export type ProblemResponder = (err: unknown, req: Request, res: Response, scheme?: Scheme) => void;

/**
 * The single place where anything thrown becomes a response. Express reaches it through the error handler;
 * authentication answers its refusals with it directly (see createAuthenticate), so both look the same.
 */
export function createProblemResponder(options: ProblemResponderOptions): ProblemResponder {
  const { challenge, resourceMetadataUrl, logger, metrics } = options;
  // The challenge an error answers with, remembered on the error, as its problem body is (problem.ts): the refusals a
  // flood gets are one object for every request (a cached refusal of a forged token, missing credentials), so theirs
  // is built once. It depends on the scheme the client used too; a different one rebuilds it.
  const challenges = new WeakMap<AuthError, { usedScheme: Scheme | undefined; value: string }>();
  const challengeFor = (error: AuthError, usedScheme: Scheme | undefined): string => {
    const known = challenges.get(error);
    if (known !== undefined && known.usedScheme === usedScheme) return known.value;
    const value = buildChallenge(challenge, error, { usedScheme, resourceMetadata: resourceMetadataUrl });
    challenges.set(error, { usedScheme, value });
    return value;
  };
  return (err, req, res, scheme) => {
    const error = toHttpError(err);
    recordProblem(error.status, error.type);
    if (error.status >= 500) {
      logger.error({ err, request_id: (req as { id?: unknown }).id, method: req.method, path: req.path, status: error.status }, 'request failed');
    } else if (error instanceof AuthError) {
      metrics.countAuthRejection(error.code ?? 'none');
      noteRefusal(res, error.message);
    }
    if (res.headersSent) {
      // The response is half written: all that is left is to end it so the client does not hang.
      res.destroy();
      return;
    }
    if (error instanceof AuthError) res.setHeader('WWW-Authenticate', challengeFor(error, scheme ?? schemeOf(req.headers.authorization)));
    sendProblem(req, res, error);
  };
}

/** Express's last handler: everything thrown by a route, or passed to `next`, is answered by `respond`. */
export function createErrorHandler(respond: ProblemResponder): ErrorRequestHandler {
  const errorHandler: ErrorRequestHandler = (err, req, res, _next) => respond(err, req, res);
  return errorHandler;
}

function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof StorageUnavailableError) return new DatabaseUnavailableError(err);
  const { type, status } = (err ?? {}) as { type?: unknown; status?: unknown };
  switch (type) {
    case 'entity.parse.failed':
      return new MalformedJsonError();
    case 'entity.too.large':
      return new PayloadTooLargeError(JSON_BODY_LIMIT_BYTES);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaTypeError(JSON_MEDIA_TYPES);
    case 'request.aborted':
    case 'request.size.invalid':
      return plainHttpError(400, 'The request body was incomplete.');
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return plainHttpError(status, 'The request could not be understood.');
  }
  return plainHttpError(500, 'Internal error');
}
