import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHook } from './front-door.js';
import helmet from 'helmet';

/**
 * helmet's security headers, computed once at start-up: with a fixed configuration they are the same for every
 * response, so each request only copies them (helmet itself rebuilds them per request; see docs/benchmarks.md).
 */
export function securityHeaders(): RequestHook {
  const headers: Array<[string, string]> = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string) => headers.push([name, String(value)]),
    removeHeader: (name: string) => removed.push(name),
  };
  helmet()({} as IncomingMessage, recorder as unknown as ServerResponse, () => undefined);
  if (headers.length === 0) throw new Error('helmet set no headers: its interface changed');
  return {
    onRequest(_req, res) {
      for (const [name, value] of headers) res.setHeader(name, value);
      for (const name of removed) res.removeHeader(name);
    },
  };
}
