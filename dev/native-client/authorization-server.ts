import * as client from 'openid-client';

/** Seconds allowed for each request to the authorization server (discovery, token endpoint). */
export const REQUEST_TIMEOUT_SECONDS = 10;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** True for `http://127.0.0.1…`, `http://[::1]…` and `http://localhost…`: plain HTTP that never leaves the machine. */
export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * Finds the authorization server's endpoints by OpenID discovery and returns the public client's configuration
 * (no client secret: `token_endpoint_auth_method` `none`). HTTPS is required except on loopback.
 *
 * @example
 * const config = await discoverAuthorizationServer('https://YOUR_TENANT.auth0.com/', 'YOUR_CLIENT_ID');
 */
export async function discoverAuthorizationServer(issuer: string, clientId: string): Promise<client.Configuration> {
  const server = new URL(issuer);
  const loopback = isLoopbackHttp(server);
  if (server.protocol !== 'https:' && !loopback) {
    throw new Error(`the issuer must be an https URL (plain http only on loopback), not ${issuer}`);
  }
  return client.discovery(server, clientId, undefined, client.None(), {
    timeout: REQUEST_TIMEOUT_SECONDS,
    ...(loopback ? { execute: [client.allowInsecureRequests] } : {}),
  });
}

/** One line for an error from openid-client: the OAuth error code and description when the server sent them. */
export function describeOAuthError(error: unknown): string {
  if (error instanceof UnreachableError) return error.message;
  if (error instanceof client.ResponseBodyError || error instanceof client.AuthorizationResponseError) {
    return [error.error, error.error_description].filter(Boolean).join(': ');
  }
  if (error instanceof Error && error.name === 'TimeoutError') return 'the authorization server did not answer in time';
  const code = networkErrorCode(error);
  if (code) return `cannot reach the authorization server (${code})`;
  return error instanceof Error ? error.message : String(error);
}

/** `ECONNREFUSED`, `ENOTFOUND`… from anywhere in an error's `cause` chain (fetch puts it there). */
export function networkErrorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const { code } = current as { code?: unknown };
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  }
  return undefined;
}

/** A server other than the authorization server could not be reached; the message says which. */
export class UnreachableError extends Error {
  override name = 'UnreachableError';
}

/**
 * `fetch`, with its failures to connect or to get an answer in time told as such, naming `what` (e.g. "the API"),
 * rather than as errors of the authorization server.
 */
export async function fetchFrom(what: string, url: URL, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError') throw new UnreachableError(`${what} at ${url.origin} did not answer in time`, { cause: error });
    const code = networkErrorCode(error);
    if (code) throw new UnreachableError(`cannot reach ${what} at ${url.origin} (${code}): is it running?`, { cause: error });
    throw error;
  }
}
