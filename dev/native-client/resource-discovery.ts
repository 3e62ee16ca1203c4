import { fetchFrom, isLoopbackHttp, REQUEST_TIMEOUT_SECONDS } from './authorization-server.js';
import { DPOP_ALG } from './dpop-key.js';
import { parseWwwAuthenticate, type Challenge } from './www-authenticate.js';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/** What a protected resource says about itself (RFC 9728 §2), as far as this client uses it. */
export interface ProtectedResource {
  /** The metadata URL named by the API's 401 challenge (`resource_metadata`, RFC 9728 §5.1). */
  metadataUrl: string;
  /** The resource identifier: the `audience`/`resource` to ask the authorization server for. */
  resource: string;
  /** Issuer identifiers of the authorization servers that issue tokens for it; the first one is used. */
  authorizationServers: string[];
  scopesSupported: string[];
  /** The DPoP proof algorithms it accepts; empty when it takes no DPoP tokens. */
  dpopSigningAlgValues: string[];
  /** Whether it accepts only DPoP-bound tokens. */
  dpopBoundAccessTokensRequired: boolean;
  /** The challenges of the API's first 401, as parsed. */
  challenges: Challenge[];
}

/** The URL of a route of the API whose base URL is `api` (`http://host:3000` or `https://host/prefix`). */
export function apiUrl(api: string | URL, route: string): URL {
  const base = new URL(api);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return new URL(route.replace(/^\/+/, ''), base);
}

function requireSecure(url: URL, what: string): void {
  if (url.protocol !== 'https:' && !isLoopbackHttp(url)) throw new Error(`${what} must be an https URL (plain http only on loopback), not ${url.href}`);
}

/**
 * The resource identifiers whose metadata lives at `metadataUrl` (RFC 9728 §3.1 in reverse): the well-known path
 * taken out from between the host and the identifier's path. `https://api.example.com/.well-known/oauth-protected-resource/notes`
 * is the metadata of `https://api.example.com/notes`; the plain well-known URL is the metadata of the bare origin,
 * which is written `https://api.example.com` or, as URLs usually are, `https://api.example.com/`.
 */
export function resourceIdentifiersFor(metadataUrl: URL): string[] {
  const suffix = metadataUrl.pathname.slice(WELL_KNOWN.length);
  const identifier = `${metadataUrl.origin}${suffix}${metadataUrl.search}`;
  return suffix === '' && metadataUrl.search === '' ? [identifier, `${identifier}/`] : [identifier];
}

/**
 * Finds out, from nothing but the API's base URL, where to get a token for it: calls `GET {api}/v1/me` without a
 * token, reads `resource_metadata` from the 401's `WWW-Authenticate` challenges (Bearer and/or DPoP), fetches that
 * metadata (RFC 9728) and checks it, before anything in it is used:
 *  - its `resource` must be the identifier the metadata URL was made from (§3.3);
 *  - that identifier must be this API: same origin as the URL called, and a prefix of its path. (§3.3 asks for the
 *    identifier to equal the URL called, which no API with more than one route can meet; this is the rule of
 *    draft-mcguinness-oauth-rfc9728bis, which relaxes it.) So another site's metadata cannot be passed off.
 *
 * @example
 * const { resource, authorizationServers } = await discoverProtectedResource('http://127.0.0.1:3000');
 */
export async function discoverProtectedResource(api: string, options: { timeoutMs?: number } = {}): Promise<ProtectedResource> {
  const { timeoutMs = REQUEST_TIMEOUT_SECONDS * 1000 } = options;
  const probe = apiUrl(api, '/v1/me');
  requireSecure(probe, 'the API URL');

  const answer = await fetchFrom('the API', probe, { headers: { Accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  await answer.body?.cancel();
  const field = answer.headers.get('www-authenticate');
  if (answer.status !== 401 || !field) {
    throw new Error(`GET ${probe.href} without a token answered ${answer.status}${field ? '' : ' with no WWW-Authenticate challenge'}; expected 401 and a challenge`);
  }
  const challenges = parseWwwAuthenticate(field);
  const named = [...new Set(challenges.map((challenge) => challenge.params.resource_metadata).filter((url): url is string => !!url))];
  if (named.length === 0) throw new Error(`the API's challenge names no resource_metadata (RFC 9728 §5.1): ${field}`);
  if (named.length > 1) throw new Error(`the API's challenges name different resource metadata: ${named.join(', ')}`);
  if (!URL.canParse(named[0]!)) throw new Error(`the API's resource_metadata is not a URL: ${named[0]}`);
  const metadataUrl = new URL(named[0]!);
  requireSecure(metadataUrl, 'the resource metadata URL');
  if (metadataUrl.pathname !== WELL_KNOWN && !metadataUrl.pathname.startsWith(`${WELL_KNOWN}/`)) {
    throw new Error(`the resource metadata URL ${metadataUrl.href} is not under ${WELL_KNOWN} (RFC 9728 §3.1)`);
  }
  if (metadataUrl.hash) throw new Error(`the resource metadata URL ${metadataUrl.href} has a fragment`);

  const response = await fetchFrom('the resource metadata', metadataUrl, { headers: { Accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`GET ${metadataUrl.href} answered ${response.status}; expected 200 and the resource metadata`);
  }
  let metadata: Record<string, unknown>;
  try {
    metadata = (await response.json()) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${metadataUrl.href} is not JSON`, { cause: error });
  }
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new Error(`${metadataUrl.href} is not a JSON object`);

  const { resource } = metadata;
  const expected = resourceIdentifiersFor(metadataUrl);
  if (typeof resource !== 'string' || !expected.includes(resource)) {
    throw new Error(
      `the resource metadata at ${metadataUrl.href} describes ${JSON.stringify(resource)}, not ${expected[0]} ` +
        'whose metadata that URL is (RFC 9728 §3.3); it must not be used',
    );
  }
  const identifier = new URL(resource);
  const prefix = identifier.pathname.endsWith('/') ? identifier.pathname : `${identifier.pathname}/`;
  if (identifier.origin !== probe.origin || !(probe.pathname === identifier.pathname || probe.pathname.startsWith(prefix))) {
    throw new Error(`the API at ${probe.origin} points at the metadata of another resource, ${resource}; it must not be used`);
  }

  const servers = metadata.authorization_servers;
  if (!Array.isArray(servers) || servers.length === 0 || !servers.every((server) => typeof server === 'string' && URL.canParse(server))) {
    throw new Error(`the resource metadata at ${metadataUrl.href} names no authorization_servers`);
  }
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
  return {
    metadataUrl: metadataUrl.href,
    resource,
    authorizationServers: servers as string[],
    scopesSupported: strings(metadata.scopes_supported),
    dpopSigningAlgValues: strings(metadata.dpop_signing_alg_values_supported),
    dpopBoundAccessTokensRequired: metadata.dpop_bound_access_tokens_required === true,
    challenges,
  };
}

/** How to sign in for an API known only by its URL: what its metadata says, and what follows from it. */
export interface ApiSignInPlan {
  resource: ProtectedResource;
  /** `authorization_servers[0]`. */
  issuer: string;
  /** The resource identifier, asked for as `audience`/`resource`. */
  audience: string;
  /** The scope asked for unless told otherwise: `openid offline_access` and the API's `scopes_supported`. */
  scope: string | undefined;
  /** Whether to bind the tokens with DPoP: when asked to, and always when the API takes only DPoP-bound tokens. */
  dpop: boolean;
}

/**
 * Discovers the API at `api` (see `discoverProtectedResource`) and decides how to sign in for it. Binding with DPoP
 * (`dpop`) needs the API to take ES256 proofs; an API that takes only DPoP-bound tokens gets them either way.
 *
 * @example
 * const plan = await planSignInFromApi('http://127.0.0.1:3000', { dpop: true });
 * await login({ issuer: plan.issuer, audience: plan.audience, dpopKey: plan.dpop ? await createDpopKey() : undefined, … });
 */
export async function planSignInFromApi(api: string, options: { dpop?: boolean; timeoutMs?: number } = {}): Promise<ApiSignInPlan> {
  const resource = await discoverProtectedResource(api, options);
  const takesDpop = resource.dpopSigningAlgValues.includes(DPOP_ALG);
  if (options.dpop && !takesDpop) throw new Error(`the API does not take DPoP proofs signed with ${DPOP_ALG} (dpop_signing_alg_values_supported)`);
  return {
    resource,
    issuer: resource.authorizationServers[0]!,
    audience: resource.resource,
    scope: resource.scopesSupported.length > 0 ? ['openid', 'offline_access', ...resource.scopesSupported].join(' ') : undefined,
    dpop: !!options.dpop || resource.dpopBoundAccessTokensRequired,
  };
}
