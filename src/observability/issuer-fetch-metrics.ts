import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Metrics } from './metrics.js';

type Outcome = 'ok' | 'error';

/**
 * Counts the token library's requests to the authorization server. The library does its own HTTP, so its
 * requests are observed through Node's `http.client.*` diagnostics channels, filtered by the issuer's hosts.
 * Returns a function that stops observing.
 */
export function observeIssuerFetches(metrics: Metrics, issuerUrls: string[]): () => void {
  const hosts = new Set(issuerUrls.map((url) => new URL(url).host));
  const kindOf = (request: ClientRequest): 'discovery' | 'jwks' | undefined => {
    const host = request.getHeader('host');
    if (typeof host !== 'string' || !hosts.has(host)) return undefined;
    return /\/\.well-known\/(openid-configuration|oauth-authorization-server)/.test(request.path) ? 'discovery' : 'jwks';
  };
  const count = (request: ClientRequest, outcome: Outcome): void => {
    const kind = kindOf(request);
    if (kind) metrics.issuerFetches.inc({ kind, outcome });
  };

  const onResponse = (message: unknown): void => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    count(request, response.statusCode === 200 ? 'ok' : 'error');
  };
  const onError = (message: unknown): void => {
    count((message as { request: ClientRequest }).request, 'error');
  };
  diagnostics.subscribe('http.client.response.finish', onResponse);
  diagnostics.subscribe('http.client.request.error', onError);
  return () => {
    diagnostics.unsubscribe('http.client.response.finish', onResponse);
    diagnostics.unsubscribe('http.client.request.error', onError);
  };
}
