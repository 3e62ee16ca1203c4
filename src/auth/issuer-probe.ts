import { fetchJson, jwksUrlOf } from './issuer-metadata.js';

/** Answers "can this API obtain the issuer's signing keys?" for the readiness probe. */
export type KeysProbe = () => Promise<boolean>;

/**
 * Fetches the issuer's metadata and JWKS (each within `timeoutMs`) and remembers a success for `cacheMs`,
 * so that a brief outage of the issuer does not take every replica out of the load balancer:
 * keys the API has fetched keep verifying tokens meanwhile.
 */
export function createKeysProbe(options: { issuers: readonly string[]; jwksUri: string | undefined; timeoutMs: number; cacheMs?: number }): KeysProbe {
  const probes = options.issuers.map((issuer) => probeOne({ ...options, issuer }));
  // Ready only when every configured issuer's keys can be had: any of them may sign the next token.
  return async () => (await Promise.all(probes.map((probe) => probe()))).every(Boolean);
}

function probeOne(options: { issuer: string; jwksUri: string | undefined; timeoutMs: number; cacheMs?: number }): KeysProbe {
  const { issuer, jwksUri, timeoutMs, cacheMs = 60_000 } = options;
  let lastSuccess = -Infinity;

  return async () => {
    if (Date.now() - lastSuccess < cacheMs) return true;
    try {
      const jwks = (await fetchJson(await jwksUrlOf(issuer, jwksUri, timeoutMs), timeoutMs)).body as { keys?: unknown } | null;
      if (!jwks) return false;
      if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) return false;
      lastSuccess = Date.now();
      return true;
    } catch {
      return false;
    }
  };
}
