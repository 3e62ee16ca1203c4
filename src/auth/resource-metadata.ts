import { DPOP_ALGS, type DpopMode } from './challenge.js';
import type { ScopeGuards } from './guards.js';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/** The resource identifier's own path, when it is an http(s) URL with one (`https://api.example.com/notes` → `/notes`). */
function identifierPath(resource: string): string {
  // `urn:example:api` parses too, with `example:api` as its path: not one to put after the well-known path.
  if (!/^https?:\/\//i.test(resource) || !URL.canParse(resource)) return '';
  const { pathname } = new URL(resource);
  return pathname.replace(/\/+$/, '');
}

/**
 * Where clients find the metadata (RFC 9728 §3.1): the well-known path, followed by the identifier's own path, on the
 * API's public origin (`PUBLIC_URL`: the identifier's origin unless configured otherwise). Never built from a request's
 * `Host` or `X-Forwarded-*`: every 401 carries it, and a response that echoed them could be cached for others.
 */
export function resourceMetadataUrlFor(resource: string, publicUrl: string): string {
  return `${new URL(publicUrl).origin}${WELL_KNOWN}${identifierPath(resource)}`;
}

export interface ResourceMetadataOptions {
  resource: string;
  resourceName: string;
  /** The API's public origin (`PUBLIC_URL`), the only source of the absolute URLs in the document. */
  publicUrl: string;
  issuers: readonly string[];
  scopes: ScopeGuards;
  dpop: DpopMode;
}

/** The paths the metadata is served at: the well-known path, and that path followed by the identifier's own (RFC 9728 §3.1). */
export function resourceMetadataPaths(resource: string): string[] {
  return [...new Set([WELL_KNOWN, `${WELL_KNOWN}${identifierPath(resource)}`])];
}

/**
 * The protected resource metadata document (RFC 9728 §2): tells a client that knows only this API where to get a token
 * for it and how to present it.
 */
export function resourceMetadata(options: ResourceMetadataOptions): Record<string, unknown> {
  return {
    resource: options.resource,
    resource_name: options.resourceName,
    authorization_servers: options.issuers,
    scopes_supported: options.scopes.supported,
    bearer_methods_supported: ['header'],
    resource_documentation: `${new URL(options.publicUrl).origin}/docs`,
    ...(options.dpop === 'disabled'
      ? {}
      : { dpop_signing_alg_values_supported: DPOP_ALGS, dpop_bound_access_tokens_required: options.dpop === 'required' }),
  };
}
