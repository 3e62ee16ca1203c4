import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';
import { findCaller } from '../auth/index.js';
import { ClientErrorLogBudget } from '../observability/client-error-log-budget.js';
import type { Logger } from '../observability/logger.js';
import { serverSpanOf } from '../observability/tracing/request-spans.js';
import type { RequestHook } from './front-door.js';
import { REFUSAL, type ApiResponse } from './request-state.js';

const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
const URL_CREDENTIALS = /([?&](?:access_token|token|id_token|refresh_token|code)=)[^&#]*/gi;

interface RequestLine {
  /** While tracing: the request's trace (undefined otherwise, and then not written). */
  trace_id: string | undefined;
  span_id: string | undefined;
  req: { id: string; method: string; url: string };
  res: { status: number };
  route: string | null;
  latency_ms: number;
  sub?: string;
  client_id?: string | null;
  reason?: string;
}

// The field ApiResponse declares (request-state.ts); Express's typings know only their own Response.
type WithRefusal = Response & Pick<ApiResponse, typeof REFUSAL>;

/** Leaves the reason authentication or authorization refused a request for its log line (one line, not two). */
export function noteRefusal(res: Response, reason: string): void {
  (res as WithRefusal)[REFUSAL] = reason;
}

/** The request id: the client's `X-Request-Id` when well-formed, otherwise a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && WELL_FORMED_REQUEST_ID.test(given) ? given : randomUUID();
}

/** A URL fit for a log: credentials in the query string are replaced, so a token never reaches the log. */
export function loggableUrl(url: string): string {
  return url.includes('=') ? url.replace(URL_CREDENTIALS, '$1[redacted]') : url;
}

export interface RequestLoggingOptions {
  /** Client-error lines logged per client address per minute (ClientErrorLogBudget); 0 logs every one. */
  clientErrorsPerMinute: number;
  /** The key a request's client is counted under (client-address.ts). */
  clientKey: (req: Request) => string;
}

/**
 * Gives every request an id (`X-Request-Id`) and writes one JSON line when its response is finished: method,
 * URL, route pattern, status, latency, request id, and `sub`/`client_id` when the token was valid. No header is
 * logged, so `Authorization`, `DPoP` and cookies cannot leak. Server faults are logged at `error`. Client errors
 * (4xx) are logged up to a budget per client address (ClientErrorLogBudget); `close` logs what the budget left out.
 *
 * One `logger.info` call per request and no child logger: this runs on every request (see docs/benchmarks.md).
 */
export function requestLogging(logger: Logger, options: RequestLoggingOptions): RequestHook & { close(): void } {
  // The request line is built only from fields that cannot hold a credential (the URL is cleaned by loggableUrl,
  // no header is read), so it skips the redaction pass that every other log line gets; it runs on every request.
  const accessLog = logger.child({}, { redact: { paths: [] } });
  // Below `info` nothing but server faults is logged, so there is nothing to budget.
  const budget =
    options.clientErrorsPerMinute > 0 && logger.isLevelEnabled('info')
      ? new ClientErrorLogBudget({ perWindow: options.clientErrorsPerMinute, logger })
      : undefined;
  const { clientKey } = options;
  return {
    onRequest(req, res) {
      const id = requestIdOf(req);
      (req as Request & { id: string }).id = id;
      res.setHeader('X-Request-Id', id);
    },
    onFinish(req, res, elapsedMs) {
      const status = res.statusCode;
      if (budget !== undefined && status >= 400 && status < 500 && !budget.admit(clientKey(req), status)) return;
      const caller = findCaller(req);
      // The trace, from the response's server span rather than by the logger's mixin (log-fields.ts), and first, where
      // the mixin puts it on other lines.
      const trace = serverSpanOf(res)?.spanContext();
      const line: RequestLine = {
        trace_id: trace?.traceId,
        span_id: trace?.spanId,
        req: { id: (req as Request & { id: string }).id, method: req.method, url: loggableUrl(req.originalUrl) },
        res: { status },
        route: (req.route as { path?: string } | undefined)?.path ?? null,
        latency_ms: Math.round(elapsedMs * 1000) / 1000,
      };
      if (caller) {
        line.sub = caller.sub;
        line.client_id = caller.clientId;
      }
      const refusal = (res as WithRefusal)[REFUSAL];
      if (status >= 500) accessLog.error(line, 'request failed');
      else if (refusal !== undefined) {
        line.reason = refusal;
        accessLog.info(line, 'request refused');
      } else accessLog.info(line, 'request completed');
    },
    close() {
      budget?.flush();
    },
  };
}
