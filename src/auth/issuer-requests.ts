import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';

export type IssuerRequestKind = 'discovery' | 'jwks';
export type IssuerRequestListener = (kind: IssuerRequestKind, outcome: 'ok' | 'error') => void;

/**
 * Observes the token library's requests to the authorization servers (their metadata and key sets). The
 * library does its own HTTP, so its requests are seen through Node's `http.client.*` diagnostics channels,
 * filtered by the issuers' hosts. Returns a function that stops observing.
 */
export function observeIssuerRequests(issuerUrls: readonly string[], listener: IssuerRequestListener): () => void {
  const hosts = new Set(issuerUrls.map((url) => new URL(url).host));
  const kindOf = (request: ClientRequest): IssuerRequestKind | undefined => {
    const host = request.getHeader('host');
    if (typeof host !== 'string' || !hosts.has(host)) return undefined;
    return /\/\.well-known\/(openid-configuration|oauth-authorization-server)/.test(request.path) ? 'discovery' : 'jwks';
  };
  const onResponse = (message: unknown): void => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    const kind = kindOf(request);
    if (kind) listener(kind, response.statusCode === 200 ? 'ok' : 'error');
  };
  const onError = (message: unknown): void => {
    const kind = kindOf((message as { request: ClientRequest }).request);
    if (kind) listener(kind, 'error');
  };
  diagnostics.subscribe('http.client.response.finish', onResponse);
  diagnostics.subscribe('http.client.request.error', onError);
  return () => {
    diagnostics.unsubscribe('http.client.response.finish', onResponse);
    diagnostics.unsubscribe('http.client.request.error', onError);
  };
}
