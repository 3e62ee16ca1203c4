import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { NotSignedInError, savePrivateJson } from './token-store.js';

/** The algorithm of the app's DPoP keys: ES256, which every DPoP server supports (RFC 9449 §5.1). */
export const DPOP_ALG = 'ES256';

/** A Web Crypto key pair, as jose makes it and openid-client takes it. */
export interface DpopKeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

/** The app's DPoP key pair (RFC 9449 §2) and the thumbprint a token bound to it carries as `cnf.jkt`. */
export interface DpopKey {
  keyPair: DpopKeyPair;
  publicJwk: JWK;
  /** The JWK SHA-256 thumbprint of the public key (RFC 7638). */
  jkt: string;
}

/** Makes a new ES256 key pair; its private half can be exported, to be kept beside the tokens. */
export async function createDpopKey(): Promise<DpopKey> {
  const keyPair = await generateKeyPair(DPOP_ALG, { extractable: true });
  return describe(keyPair);
}

async function describe(keyPair: DpopKeyPair): Promise<DpopKey> {
  const { kty, crv, x, y } = await exportJWK(keyPair.publicKey);
  const publicJwk = { kty, crv, x, y } as JWK;
  return { keyPair, publicJwk, jkt: await calculateJwkThumbprint(publicJwk) };
}

/**
 * Where the key of the tokens in `tokensFile` is kept: `dpop-key.json` beside `tokens.json`
 * (`.tokens/dpop-key.json` by default), `NAME.dpop-key.json` beside any other `NAME.json`.
 */
export function dpopKeyFileFor(tokensFile: string): string {
  const base = path.basename(tokensFile, '.json');
  return path.join(path.dirname(tokensFile), base === 'tokens' ? 'dpop-key.json' : `${base}.dpop-key.json`);
}

/** Saves the private key as a JWK in a file only the user can read (0600). */
export async function saveDpopKey(file: string, key: DpopKey): Promise<void> {
  const privateJwk = await exportJWK(key.keyPair.privateKey);
  savePrivateJson(file, { ...privateJwk, alg: DPOP_ALG });
}

/** Reads the key saved by `saveDpopKey`; a missing or damaged file is a `NotSignedInError`. */
export async function readDpopKey(file: string): Promise<DpopKey> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(fs.readFileSync(file, 'utf8')) as JWK;
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new NotSignedInError(`the tokens are DPoP-bound but their key ${missing ? `${file} is missing` : `in ${file} cannot be read`}: sign in again`, {
      cause: error,
    });
  }
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string') throw new NotSignedInError(`${file} does not hold an ES256 private key: sign in again`);
  const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  // Extractable like a newly made key, so a key read back can be saved again.
  const privateKey = (await importJWK(jwk, DPOP_ALG, { extractable: true })) as CryptoKey;
  const publicKey = (await importJWK(publicJwk, DPOP_ALG, { extractable: true })) as CryptoKey;
  return describe({ privateKey, publicKey });
}

/** Removes a saved key (after a sign-in without DPoP, the old key has nothing left to sign for). */
export function removeDpopKey(file: string): void {
  fs.rmSync(file, { force: true });
}

/**
 * A DPoP proof for one request (RFC 9449 §4.2): `htm` the method, `htu` the request URL without its query and
 * fragment, a fresh `iat` and `jti`, `ath`, the hash of the access token it goes with, and the server's `nonce` when
 * it gave one (§8, §9). A proof is good for one request: the API remembers its `jti`.
 */
export async function dpopProof(key: DpopKey, request: { method: string; url: URL; accessToken?: string; nonce?: string }): Promise<string> {
  const htu = new URL(request.url);
  htu.search = '';
  htu.hash = '';
  return new SignJWT({
    htm: request.method.toUpperCase(),
    htu: htu.href,
    jti: randomUUID(),
    ...(request.accessToken !== undefined ? { ath: await accessTokenHash(request.accessToken) } : {}),
    ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
  })
    .setProtectedHeader({ alg: DPOP_ALG, typ: 'dpop+jwt', jwk: key.publicJwk })
    .setIssuedAt()
    .sign(key.keyPair.privateKey);
}

/** `ath`: BASE64URL(SHA-256(access token)) (RFC 9449 §4.2). */
async function accessTokenHash(accessToken: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken));
  return Buffer.from(digest).toString('base64url');
}
