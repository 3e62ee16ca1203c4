import cors from 'cors';
import type { RequestHandler } from 'express';

/**
 * CORS for browser clients, closed unless origins are listed: native apps do not need it, and an open CORS
 * policy only helps a hostile page. Exposes the headers a client needs to read (ETag, Location, challenges, the
 * trace in Server-Timing…), and lets a traced web client send its W3C trace context.
 */
export function corsFor(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins.map((origin) => new URL(origin).origin));
  return cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'DPoP', 'X-Request-Id', 'traceparent', 'tracestate'],
    exposedHeaders: ['ETag', 'Location', 'WWW-Authenticate', 'DPoP-Nonce', 'X-Request-Id', 'RateLimit', 'RateLimit-Policy', 'Retry-After', 'Server-Timing'],
    maxAge: 600,
  });
}
