import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { Request, RequestHandler, Response } from 'express';

/** Probes and scrapes: called every few seconds by machines, they would bury the requests worth a trace. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/livez', '/metrics']);

const tracer = trace.getTracer('notes-api');
/**
 * Where a response keeps its request's server span. http/request-state.ts declares it on every response from
 * construction (undefined until a span is set), so sampled and unsampled responses have one shape in V8.
 */
export const SERVER_SPAN = Symbol('server span');
type Traced = Response & { [SERVER_SPAN]: Span };

/**
 * Express's matched route as a template (`/v1/notes/:id` → `/v1/notes/{id}`, the OpenAPI form), or undefined when no
 * route matched (a 404, or a refusal before routing).
 *
 * @example
 * routeTemplateOf({ baseUrl: '', route: { path: '/v1/notes/:id' } }); // '/v1/notes/{id}'
 */
export function routeTemplateOf(req: object): string | undefined {
  const { route, baseUrl } = req as { route?: { path?: unknown }; baseUrl?: unknown };
  if (typeof route?.path !== 'string') return undefined;
  return `${typeof baseUrl === 'string' ? baseUrl : ''}${route.path}`.replace(/:(\w+)/g, '{$1}');
}

/**
 * The `Server-Timing` entry that tells a client the trace its request belongs to, in the form browsers' tracing
 * (OpenTelemetry's document-load instrumentation) reads: `traceparent;desc="00-<trace id>-<span id>-<flags>"`.
 */
export function serverTimingOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `traceparent;desc="00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}"`;
}

/** The server span of the request this response answers; undefined while tracing is off, and for /healthz, /metrics… */
export function serverSpanOf(res: Response): Span | undefined {
  return (res as Partial<Traced>)[SERVER_SPAN];
}

/**
 * The server span of each request, as the first middleware while tracing is on (app.ts), rather than the HTTP
 * instrumentation's: that one binds every request's and response's event emitters and computes a dozen attributes for
 * every request, sampled or not, which doubled a request's CPU (docs/performance.md). Here an unsampled request costs
 * the W3C `traceparent` extraction, the sampler's decision, a non-recording span, the context it runs in and one
 * shared `close` listener that returns at once (so that every response has the same shape, sampled or not).
 *
 * The span is a child of the caller's `traceparent` (a malformed one is ignored and a new trace starts), follows the
 * HTTP semantic conventions (`http.request.method`, `url.path`, `url.scheme`, `network.*`, `http.response.status_code`,
 * and `http.route` once Express has matched one, which names the span `GET /v1/notes/{id}`), and is an error only for
 * a 5xx. It records no header value: not the `User-Agent`, not `Host`, not a forwarded client address (the network
 * peer's is kept), never `Authorization`, `DPoP` or `Cookie`; nor the query string. The response tells the client its
 * trace in `Server-Timing`. Health probes and metric scrapes are not traced.
 */
export function traceRequests(): RequestHandler {
  // One listener shared by every response (called with the response as `this`): no closure per request.
  function ended(this: Traced): void {
    const span = this[SERVER_SPAN];
    if (!span.isRecording()) return;
    if (this.headersSent) {
      span.setAttribute('http.response.status_code', this.statusCode);
      if (this.statusCode >= 500) {
        span.setAttribute('error.type', String(this.statusCode));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
    }
    const route = routeTemplateOf(this.req);
    if (route !== undefined) {
      span.setAttribute('http.route', route);
      span.updateName(`${this.req.method} ${route}`);
    }
    span.end();
  }
  return (req: Request, res: Response, next) => {
    const path = pathOf(req.url);
    if (UNTRACED_PATHS.has(path)) return next();
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    // No sampler this API offers (OTEL_TRACES_SAMPLER) reads attributes: they are added once the span is known to
    // be recorded, so an unsampled request does not build them.
    const span = tracer.startSpan(req.method, { kind: SpanKind.SERVER }, parent);
    if (span.isRecording()) {
      span.setAttributes({
        'http.request.method': req.method,
        'url.path': path,
        // Not req.protocol: behind a trusted proxy that is X-Forwarded-Proto's value, whatever the client put there.
        'url.scheme': req.secure ? 'https' : 'http',
        'network.protocol.version': req.httpVersion,
        'network.peer.address': req.socket.remoteAddress,
        'network.peer.port': req.socket.remotePort,
      });
    }
    (res as Traced)[SERVER_SPAN] = span;
    // `close` comes once, after `finish`, and also when the client went away before the answer was sent (`on`, not
    // `once`: that would wrap the listener in a closure per request). Every traced response gets it, sampled or not.
    res.on('close', ended);
    res.setHeader('Server-Timing', serverTimingOf(span));
    context.with(trace.setSpan(parent, span), next);
  };
}

function pathOf(url: string): string {
  const end = url.indexOf('?');
  return (end === -1 ? url : url.slice(0, end)).replace(/\/+$/, '') || '/';
}
