import { Router, type Request } from 'express';
import { sendJson } from '../http/json-response.js';
import { allowOnly } from '../http/routing.js';
import { DPOP_ALGS, type DpopMode } from './challenge.js';
import type { ScopeGuards } from './guards.js';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/** The resource identifier's own path, when it has one (`https://api.example.com/notes` → `/notes`). */
function identifierPath(resource: string): string {
  if (!URL.canParse(resource)) return '';
  const { pathname } = new URL(resource);
  return pathname.replace(/\/+$/, '');
}

/**
 * Where clients find the metadata (RFC 9728 §3.1): the well-known path inserted between the identifier's host
 * and its path. When the identifier is not a URL, the API's own origin stands in for it. Worked out once per
 * resource, not per request: every 401 carries it, so it is on the refusal path.
 */
export function resourceMetadataUrlFor(resource: string): (req: Request) => string {
  const suffix = `${WELL_KNOWN}${identifierPath(resource)}`;
  if (/^https?:\/\//.test(resource) && URL.canParse(resource)) {
    const url = `${new URL(resource).origin}${suffix}`;
    return () => url;
  }
  return (req) => `${req.protocol}://${req.get('host')}${suffix}`;
}

export interface ResourceMetadataOptions {
  resource: string;
  resourceName: string;
  issuers: readonly string[];
  scopes: ScopeGuards;
  dpop: DpopMode;
}

/**
 * `GET /.well-known/oauth-protected-resource` (and its path-suffixed form): tells a client that knows only this
 * API where to get a token for it and how to present it (RFC 9728 §2).
 */
export function resourceMetadataRouter(options: ResourceMetadataOptions): Router {
  const router = Router();
  const paths = [...new Set([WELL_KNOWN, `${WELL_KNOWN}${identifierPath(options.resource)}`])];
  for (const path of paths) {
    router
      .route(path)
      .get((req, res) => {
        res.setHeader('Cache-Control', 'public, max-age=3600');
        sendJson(res, {
          resource: options.resource,
          resource_name: options.resourceName,
          authorization_servers: options.issuers,
          scopes_supported: options.scopes.supported,
          bearer_methods_supported: ['header'],
          resource_documentation: `${req.protocol}://${req.get('host')}/docs`,
          ...(options.dpop === 'disabled'
            ? {}
            : { dpop_signing_alg_values_supported: DPOP_ALGS, dpop_bound_access_tokens_required: options.dpop === 'required' }),
        });
      })
      .all(allowOnly('GET'));
  }
  return router;
}
