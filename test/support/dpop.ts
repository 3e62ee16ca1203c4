import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

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
