import type http from 'node:http';
import type { Registry, RegistryContentType } from 'prom-client';
import { startServer, type RunningServer } from './server.js';

/**
 * Serves `GET /metrics` on a listener of its own, apart from the public API port, in the registry's one format
 * (OpenMetrics while tracing is on, for exemplars; else the Prometheus text format).
 */
export function startMetricsServer(registry: Registry<RegistryContentType>, options: { host: string; port: number }): Promise<RunningServer> {
  const serveMetrics: http.RequestListener = (req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found: metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      () => res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics unavailable\n'),
    );
  };
  return startServer(serveMetrics, options);
}
