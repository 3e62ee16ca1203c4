import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { TestApi } from './api.js';

/** A client's DPoP key pair (RFC 9449 §4), as a native app would keep it. */
export interface DpopKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** The JWK SHA-256 thumbprint (RFC 7638): what a bound token carries as `cnf.jkt`. */
  jkt: string;
}

export async function createDpopKey(alg: 'ES256' | 'RS256' = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk) };
}

/** Signs a DPoP proof for one request; any claim or header can be overridden to build a bad one. */
export async function dpopProof(
  key: DpopKey,
  request: { method: string; url: string; accessToken?: string },
  overrides: { claims?: Record<string, unknown>; header?: Record<string, unknown> } = {},
): Promise<string> {
  const claims: Record<string, unknown> = {
    htm: request.method,
    htu: request.url,
    iat: Math.floor(Date.now() / 1000),
    jti: randomUUID(),
    ...(request.accessToken ? { ath: createHash('sha256').update(request.accessToken).digest('base64url') } : {}),
    ...overrides.claims,
  };
  return new SignJWT(Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined)))
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk, ...overrides.header })
    .sign(key.privateKey);
}

/**
 * GET `path` as a TLS-terminating proxy in front of an API started with TRUST_PROXY passes it on: the public
 * `https://host` arrives as Host and X-Forwarded-Proto, with a DPoP-bound token and its proof (whose `htu` names the
 * public URL, not the API's own).
 *
 * @example
 * const proof = await dpopProof(key, { method: 'GET', url: 'https://notes.example.test/v1/me', accessToken: token });
 * await dpopGetViaProxy(api, '/v1/me', { host: 'notes.example.test', token, proof }).expect(200);
 */
export function dpopGetViaProxy(api: TestApi, path: string, request: { host: string; token: string; proof: string }) {
  return api
    .request()
    .get(path)
    .set('Host', request.host)
    .set('X-Forwarded-Proto', 'https')
    .set('Authorization', `DPoP ${request.token}`)
    .set('DPoP', request.proof);
}
