import { discoveryUrlOf, fetchJson, type FetchedJson } from '../auth/issuer-metadata.js';

/** Where a browser signs in with one issuer: what the docs page's contract and Content-Security-Policy name. */
export interface SignInEndpoints {
  issuer: string;
  /** The issuer's OpenID discovery document (`{issuer}/.well-known/openid-configuration`). */
  discoveryUrl: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** `false` while the issuer's metadata has not been read: the endpoints are then Auth0's conventional paths. */
  discovered: boolean;
}

export interface SignInEndpointsOptions {
  issuers: readonly string[];
  /** Bound on each discovery request. */
  timeoutMs: number;
  /** How long endpoints read from an issuer are used before they are read again; default one hour. */
  refreshMs?: number;
  /** How long after a failed read the next one may start; default 10 seconds. */
  retryMs?: number;
  fetch?: (url: string, timeoutMs: number) => Promise<FetchedJson>;
  now?: () => number;
}

/** The endpoints of each issuer, read from its discovery document, kept and read again now and then. */
export interface SignInEndpointsSource {
  /**
   * The endpoints, reading the issuers' metadata first only when none was ever read (bounded by the timeout): an
   * issuer that cannot be reached gives its last known endpoints, or conventional ones, never an error or a hang.
   * Stale endpoints are returned at once and read again behind the answer.
   */
  current(): Promise<SignInEndpoints[]>;
  /** What is known now, without waiting (for a header that must not wait). */
  known(): SignInEndpoints[];
  /**
   * Counts the changes to what `known()` returns: it grows each time a read finds an issuer's endpoints different
   * from those held, and only then, so whatever is made from the endpoints can be kept for as long as it is equal.
   */
  version(): number;
}

/** Auth0's endpoints, the guess while an issuer's metadata cannot be read. */
function conventional(issuer: string): SignInEndpoints {
  const base = issuer.endsWith('/') ? issuer : `${issuer}/`;
  return {
    issuer,
    discoveryUrl: discoveryUrlOf(issuer),
    authorizationEndpoint: new URL('authorize', base).href,
    tokenEndpoint: new URL('oauth/token', base).href,
    discovered: false,
  };
}

const sameEndpoints = (a: SignInEndpoints, b: SignInEndpoints) =>
  a.authorizationEndpoint === b.authorizationEndpoint && a.tokenEndpoint === b.tokenEndpoint && a.discovered === b.discovered;

const httpUrl = (value: unknown): value is string => typeof value === 'string' && /^https?:\/\//i.test(value) && URL.canParse(value);

/**
 * Reads each issuer's OpenID discovery document for its authorization and token endpoints.
 *
 * @example
 * const endpoints = signInEndpoints({ issuers: ['https://tenant.auth0.com/'], timeoutMs: 5000 });
 * const [first] = await endpoints.current(); // first.tokenEndpoint === 'https://tenant.auth0.com/oauth/token'
 */
export function signInEndpoints(options: SignInEndpointsOptions): SignInEndpointsSource {
  const { issuers, timeoutMs, refreshMs = 3_600_000, retryMs = 10_000, fetch = fetchJson, now = Date.now } = options;
  let version = 0;
  const entries = issuers.map((issuer) => ({
    endpoints: conventional(issuer),
    /** When the next read may start. */
    due: 0,
    reading: undefined as Promise<void> | undefined,
  }));

  const read = (entry: (typeof entries)[number]): Promise<void> => {
    entry.reading ??= (async () => {
      const { issuer, discoveryUrl } = entry.endpoints;
      try {
        const { body } = await fetch(discoveryUrl, timeoutMs);
        const metadata = (body ?? {}) as { authorization_endpoint?: unknown; token_endpoint?: unknown };
        if (!httpUrl(metadata.authorization_endpoint) || !httpUrl(metadata.token_endpoint)) {
          throw new Error(`${discoveryUrl} names no http(s) authorization_endpoint and token_endpoint`);
        }
        const read: SignInEndpoints = {
          issuer,
          discoveryUrl,
          authorizationEndpoint: metadata.authorization_endpoint,
          tokenEndpoint: metadata.token_endpoint,
          discovered: true,
        };
        if (!sameEndpoints(read, entry.endpoints)) {
          entry.endpoints = read;
          version += 1;
        }
        entry.due = now() + refreshMs;
      } catch {
        // Kept as they were (the last known, or the conventional guess); the next request after `retryMs` tries again.
        entry.due = now() + retryMs;
      } finally {
        entry.reading = undefined;
      }
    })();
    return entry.reading;
  };

  return {
    async current() {
      const waits: Promise<void>[] = [];
      for (const entry of entries) {
        if (now() < entry.due) continue;
        const reading = read(entry);
        if (!entry.endpoints.discovered) waits.push(reading);
      }
      await Promise.all(waits);
      return entries.map((entry) => entry.endpoints);
    },
    known: () => entries.map((entry) => entry.endpoints),
    version: () => version,
  };
}
