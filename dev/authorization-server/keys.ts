import fs from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { writePrivateFile } from './private-file.js';

/** The file in the data folder that holds the signing keys, newest first. */
export const JWKS_FILE = 'jwks.json';

/** A private RS256 signing key, as oidc-provider takes it (`kid` is its RFC 7638 thumbprint). */
export type SigningJwk = JWK & { kty: 'RSA'; kid: string; alg: 'RS256'; use: 'sig'; d: string };

/** Makes a new RS256 key pair and returns its private JWK. */
export async function createSigningKey(): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'RS256', use: 'sig' } as SigningJwk;
}

/**
 * Reads the signing keys kept in `dataDir`, making and saving a first key when there are none.
 * The first key signs; the others are published in the JWKS so that tokens they signed still verify.
 *
 * @example
 * const keys = await loadOrCreateSigningKeys('data/dev-issuer', console.log);
 */
export async function loadOrCreateSigningKeys(dataDir: string, log: (line: string) => void): Promise<SigningJwk[]> {
  const keys = readSigningKeys(dataDir);
  if (keys.length > 0) return keys;
  const key = await createSigningKey();
  writeSigningKeys(dataDir, [key]);
  log(`generated signing key ${key.kid} in ${path.join(dataDir, JWKS_FILE)}`);
  return [key];
}

/**
 * Puts a new signing key first and keeps only the one before it, for verification of the tokens it signed
 * (they live 10 minutes: rotate again only after that, or they stop verifying). A running server picks the
 * new key up when it restarts.
 *
 * @example
 * const { current, previous } = await rotateSigningKeys('data/dev-issuer');
 */
export async function rotateSigningKeys(dataDir: string): Promise<{ current: string; previous: string | undefined }> {
  const [previous] = readSigningKeys(dataDir);
  const current = await createSigningKey();
  writeSigningKeys(dataDir, previous ? [current, previous] : [current]);
  return { current: current.kid, previous: previous?.kid };
}

/** The keys in `dataDir/jwks.json`, or none when the file does not exist yet. */
export function readSigningKeys(dataDir: string): SigningJwk[] {
  const file = path.join(dataDir, JWKS_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const keys = parseKeys(text);
  if (!keys) throw new Error(`${file} is not a JWKS of private RS256 signing keys; delete it to start with a new key`);
  if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  return keys;
}

function writeSigningKeys(dataDir: string, keys: SigningJwk[]): void {
  writePrivateFile(path.join(dataDir, JWKS_FILE), `${JSON.stringify({ keys }, null, 2)}\n`);
}

function parseKeys(text: string): SigningJwk[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) return undefined;
  const valid = keys.every(
    (key: Partial<SigningJwk>) =>
      key?.kty === 'RSA' && key.alg === 'RS256' && key.use === 'sig' && typeof key.kid === 'string' && typeof key.d === 'string',
  );
  return valid ? (keys as SigningJwk[]) : undefined;
}
