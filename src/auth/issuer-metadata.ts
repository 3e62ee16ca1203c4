/** Reading an authorization server's published documents ourselves (readiness, key-id gate), each call bounded. */

export interface FetchedJson {
  body: unknown;
  /** The response's `Cache-Control: max-age`, in seconds, when it gave one. */
  maxAgeSeconds: number | undefined;
}

export async function fetchJson(url: string, timeoutMs: number): Promise<FetchedJson> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const maxAge = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i.exec(response.headers.get('cache-control') ?? '')?.[1];
  return { body: await response.json(), maxAgeSeconds: maxAge === undefined ? undefined : Number(maxAge) };
}

/** The issuer's OpenID discovery document: `{issuer}/.well-known/openid-configuration`. */
export const discoveryUrlOf = (issuer: string): string =>
  new URL('.well-known/openid-configuration', issuer.endsWith('/') ? issuer : `${issuer}/`).href;

/** The issuer's JWKS URL: `JWKS_URI` when configured, otherwise from its OpenID discovery document. */
export async function jwksUrlOf(issuer: string, jwksUri: string | undefined, timeoutMs: number): Promise<string> {
  if (jwksUri) return jwksUri;
  const { body } = await fetchJson(discoveryUrlOf(issuer), timeoutMs);
  const uri = (body as { jwks_uri?: unknown } | null)?.jwks_uri;
  if (typeof uri !== 'string') throw new Error('issuer metadata has no jwks_uri');
  return uri;
}
