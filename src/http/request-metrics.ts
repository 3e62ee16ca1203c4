import type { Metrics } from '../observability/metrics.js';
import { serverSpanOf } from '../observability/tracing/request-spans.js';
import { exemplarOf } from '../observability/tracing/spans.js';
import type { RequestHook } from './front-door.js';

/**
 * Times every request. The `route` label is the route pattern (`/v1/notes/:id`), never the raw path,
 * so ids never become label values; requests that match no route share `unmatched`.
 *
 * While tracing (`metrics.exemplars`), a sampled request's observation carries its server span as the exemplar of
 * its bucket. Only it pays for that (its labels hashed, two objects); every other request, and every request while
 * tracing is off, goes through the cached child as before.
 */
export function measureRequests(metrics: Metrics): RequestHook {
  // One child per label set, made once: label sets are bounded (methods × route patterns × statuses).
  const children = new Map<string, { observe(seconds: number): void }>();
  const childFor = (method: string, route: string, status: number) => {
    const id = `${method} ${route} ${status}`;
    let child = children.get(id);
    if (!child) {
      child = metrics.httpRequestDuration.labels({ method, route, status_code: String(status) });
      children.set(id, child);
    }
    return child;
  };
  const histogram = metrics.httpRequestDuration;
  const exemplars = metrics.exemplars;
  return {
    onFinish(req, res, elapsedMs) {
      const path = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof path === 'string' ? path : 'unmatched';
      // On `finish`: the server span ends on `close`, after it, so it still says whether it records.
      const exemplar = exemplars ? exemplarOf(serverSpanOf(res)) : undefined;
      if (exemplar) {
        histogram.observe({ labels: { method: req.method, route, status_code: String(res.statusCode) }, value: elapsedMs / 1000, exemplarLabels: exemplar as Record<string, string> });
      } else {
        childFor(req.method, route, res.statusCode).observe(elapsedMs / 1000);
      }
    },
  };
}
