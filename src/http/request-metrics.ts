import type { Metrics } from '../observability/metrics.js';
import type { RequestHook } from './front-door.js';

/**
 * Times every request. The `route` label is the route pattern (`/v1/notes/:id`), never the raw path,
 * so ids never become label values; requests that match no route share `unmatched`.
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
  return {
    onFinish(req, res, elapsedMs) {
      const route = (req.route as { path?: unknown } | undefined)?.path;
      childFor(req.method, typeof route === 'string' ? route : 'unmatched', res.statusCode).observe(elapsedMs / 1000);
    },
  };
}
