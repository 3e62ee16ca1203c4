import { ServerResponse, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Span } from '@opentelemetry/api';
import type { HttpInstrumentationConfig } from '@opentelemetry/instrumentation-http';

/** Probes and scrapes: called every few seconds by machines, they would bury the requests worth a trace. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/livez', '/metrics']);

/** Query parameters that could carry a credential: recorded as `REDACTED` if a client sends one (the API refuses them). */
const CREDENTIAL_PARAMETERS = ['access_token', 'token', 'id_token', 'refresh_token', 'code', 'client_secret', 'sig', 'Signature'];

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

/**
 * How the HTTP instrumentation records this API's requests (the server span) and its own calls (client spans):
 * - the server span is named `{method} {route template}` with `http.route`, once Express has matched a route;
 * - the response carries the trace in `Server-Timing`, so a client can quote it;
 * - health probes and metric scrapes are not traced;
 * - no header value is recorded: not the `User-Agent`, not a client address read from `Forwarded`/`X-Forwarded-For`
 *   (the network peer address is kept), and never `Authorization`, `DPoP` or `Cookie` (the instrumentation records
 *   headers only when told to, and is not).
 */
export function httpInstrumentationConfig(): HttpInstrumentationConfig {
  return {
    ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has(pathOf(request.url)),
    startIncomingSpanHook: () => ({ 'user_agent.original': undefined, 'client.address': undefined }),
    redactedQueryParamsServer: CREDENTIAL_PARAMETERS,
    redactedQueryParams: CREDENTIAL_PARAMETERS,
    responseHook: (span, response) => {
      // Called as the server span starts, before the app runs: the header can still be set.
      if (response instanceof ServerResponse && !response.headersSent) response.setHeader('Server-Timing', serverTimingOf(span));
    },
    applyCustomAttributesOnSpan: (span, request, response) => {
      if (!(response instanceof ServerResponse)) return;
      const route = routeTemplateOf(request as IncomingMessage | ClientRequest);
      if (route === undefined) return;
      span.setAttribute('http.route', route);
      span.updateName(`${(request as IncomingMessage).method ?? 'GET'} ${route}`);
    },
  };
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const end = url.indexOf('?');
  return (end === -1 ? url : url.slice(0, end)).replace(/\/+$/, '') || '/';
}
