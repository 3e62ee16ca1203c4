import { observeIssuerRequests } from './issuer-requests.js';
import type { Metrics } from '../observability/metrics.js';

/** Counts requests to the authorization servers in `issuer_fetches_total`; returns a function that stops counting. */
export function observeIssuerFetches(metrics: Metrics, issuerUrls: readonly string[]): () => void {
  return observeIssuerRequests(issuerUrls, (kind, outcome) => metrics.issuerFetches.inc({ kind, outcome }));
}
