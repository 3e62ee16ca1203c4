import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { RequestHook } from './front-door.js';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * Which of helmet's headers a response gets depends on what it is.
 *
 * - `api`: every JSON response (resources, problems, health, metadata). The headers OWASP's REST Security Cheat
 *   Sheet lists for API responses: a Content-Security-Policy that allows nothing and no framing, HSTS, `nosniff`
 *   and `X-Frame-Options: DENY` (with `Cache-Control: no-store` and the exact `Content-Type`, set elsewhere).
 *   helmet's other headers steer how a browser renders or isolates a *page* (COOP, CORP, Origin-Agent-Cluster,
 *   Referrer-Policy, the legacy IE/Flash ones); a JSON body is never a page, so they protect nothing here and
 *   cost bytes on every response of the hot path (see docs/performance.md).
 * - `document`: what a browser renders — the Swagger UI page, its assets, the spec — gets helmet's full defaults.
 */
export type SecurityProfile = 'api' | 'document';

const PROFILES: Record<SecurityProfile, HelmetOptions> = {
  api: {
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    xFrameOptions: { action: 'deny' },
    strictTransportSecurity: true,
    xContentTypeOptions: true,
    crossOriginOpenerPolicy: false,
    crossOriginResourcePolicy: false,
    originAgentCluster: false,
    referrerPolicy: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  },
  document: {},
};

/**
 * helmet's headers for a profile, computed once at start-up: with a fixed configuration they are the same for
 * every response, so each request only copies them (helmet itself rebuilds them per request).
 */
function headersOf(profile: SecurityProfile): { set: Array<[string, string]>; removed: string[] } {
  const set: Array<[string, string]> = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string) => set.push([name, String(value)]),
    removeHeader: (name: string) => removed.push(name),
  };
  helmet(PROFILES[profile])({} as IncomingMessage, recorder as unknown as ServerResponse, () => undefined);
  if (set.length === 0) throw new Error('helmet set no headers: its interface changed');
  return { set, removed };
}

function applier(profile: SecurityProfile): (res: ServerResponse) => void {
  const { set, removed } = headersOf(profile);
  return (res) => {
    for (const [name, value] of set) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
  };
}

/** The `api` headers on every response, set before routing (a route that serves a document overrides them). */
export function securityHeaders(): RequestHook {
  const apply = applier('api');
  return { onRequest: (_req, res) => apply(res) };
}

/** Middleware for routes that serve what a browser renders: helmet's full set, replacing the `api` profile's. */
export function documentSecurityHeaders(): RequestHandler {
  const apply = applier('document');
  return (_req, res, next) => {
    apply(res);
    next();
  };
}
