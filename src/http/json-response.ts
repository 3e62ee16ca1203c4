import type { ServerResponse } from 'node:http';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Sends `body` as JSON with `status`. What Express's `res.json` ends up sending, without the steps it takes on every
 * call that this API never needs: re-parsing the Content-Type to set its charset, looking up the ETag function and
 * checking request freshness (routes that have an ETag set it, and answer `If-None-Match`, themselves).
 */
export function sendJson(res: ServerResponse, body: unknown, status = 200): void {
  sendJsonText(res, JSON.stringify(body), status);
}

/** Sends JSON already serialised (`json` must be a JSON text); `type` for JSON-based media types. */
export function sendJsonText(res: ServerResponse, json: string, status = 200, type = JSON_TYPE): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  // Node adds Content-Length itself when a body is written; a HEAD response writes none, so it is set here.
  if (res.req.method === 'HEAD') res.setHeader('Content-Length', Buffer.byteLength(json));
  res.end(json);
}
