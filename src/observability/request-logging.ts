import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import { findCaller } from '../auth/index.js';
import type { Logger } from './logger.js';

const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The request id: the client's `X-Request-Id` when well-formed, otherwise a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && WELL_FORMED_REQUEST_ID.test(given) ? given : randomUUID();
}

/** A URL fit for a log: credentials in the query string are replaced, so a token never reaches the log. */
export function loggableUrl(url: string): string {
  return url.replace(/([?&](?:access_token|token|id_token|refresh_token|code)=)[^&#]*/gi, '$1[redacted]');
}

/**
 * One JSON line per request: method, route pattern, status, latency, request id, and `sub`/`client_id` when the
 * token was valid. No header is logged, so `Authorization`, `DPoP` and cookies cannot leak.
 */
export function requestLogging(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const id = requestIdOf(req);
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessMessage: () => 'request completed',
    customErrorMessage: () => 'request failed',
    customAttributeKeys: { responseTime: 'latency_ms' },
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: loggableUrl(req.url) }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
    customProps: (req, res) => {
      // Called when the request starts and when it ends; only the end knows the route and the caller.
      if (!res.writableEnded) return {};
      const request = req as Request;
      const caller = findCaller(request);
      return {
        route: request.route?.path ?? null,
        ...(caller ? { sub: caller.sub, client_id: caller.clientId } : {}),
      };
    },
  }) as unknown as RequestHandler;
}
