import { createPrivateKey, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { importPKCS8 } from 'jose';
import * as client from 'openid-client';
import type { IntrospectionClaims } from './introspected-token.js';

/** How the API authenticates to the introspection endpoint (RFC 7662 §2.1; RFC 7523 for `private_key_jwt`). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

export interface IntrospectionClientSettings {
  /** The issuer whose tokens are introspected; its discovery document names the endpoint unless `endpoint` is set. */
  issuer: string;
  endpoint: string | undefined;
  clientId: string;
  authMethod: ClientAuthMethod;
  /** For the `client_secret_*` methods. */
  clientSecret?: string | undefined;
  /** For `private_key_jwt`: a PKCS #8 PEM file, or a private JWK as JSON (its `kid` is sent). */
  privateKeyFile?: string | undefined;
  /** Milliseconds allowed for each request (discovery, introspection). */
  timeoutMs: number;
}

/** What the issuer said of a token: its claims when active, `null` when not. */
export interface IntrospectionAnswer {
  claims: IntrospectionClaims | null;
  /** The issuer as its metadata names itself (what an answer's `iss` must equal). */
  issuer: string;
}

export interface IntrospectionClient {
  /** Asks the issuer about `token`; rejects when it cannot answer (unreachable, slow, an error, or not RFC 7662). */
  introspect(token: string): Promise<IntrospectionAnswer>;
  /** The issuer as its metadata names itself (discovered when not yet known); rejects when it cannot be. */
  issuer(): Promise<string>;
}

/**
 * The API as a confidential client of the issuer's introspection endpoint, through openid-client (which implements
 * RFC 7662 and the client authentication methods). Discovery happens at the first introspection, and again after a
 * failed one; plain http is allowed only for an http issuer, as the JWT path allows it. A key file that cannot be read
 * throws here, at start.
 */
export function createIntrospectionClient(settings: IntrospectionClientSettings): IntrospectionClient {
  const signingKey = settings.authMethod === 'private_key_jwt' ? readPrivateKey(settings.privateKeyFile!) : undefined;
  let configuration: Promise<client.Configuration> | undefined;

  const configure = async (): Promise<client.Configuration> => {
    const auth = signingKey ? client.PrivateKeyJwt(await signingKey()) : clientSecretAuth(settings);
    const insecure = [settings.issuer, settings.endpoint].some((url) => url?.startsWith('http:'));
    const timeout = settings.timeoutMs / 1000;
    const config = settings.endpoint
      ? new client.Configuration({ issuer: settings.issuer, introspection_endpoint: settings.endpoint }, settings.clientId, undefined, auth)
      : await client.discovery(new URL(settings.issuer), settings.clientId, undefined, auth, {
          timeout,
          ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
        });
    if (insecure) client.allowInsecureRequests(config);
    config.timeout = timeout;
    return config;
  };

  const configured = async (): Promise<client.Configuration> => {
    configuration ??= configure();
    try {
      return await configuration;
    } catch (error) {
      configuration = undefined;
      throw error;
    }
  };

  return {
    issuer: async () => (await configured()).serverMetadata().issuer,
    async introspect(token) {
      const config = await configured();
      const answer = await client.tokenIntrospection(config, token, { token_type_hint: 'access_token' });
      return { claims: answer.active === true ? (answer as IntrospectionClaims) : null, issuer: config.serverMetadata().issuer };
    },
  };
}

function clientSecretAuth(settings: IntrospectionClientSettings): client.ClientAuth {
  return settings.authMethod === 'client_secret_post' ? client.ClientSecretPost(settings.clientSecret) : client.ClientSecretBasic(settings.clientSecret);
}

/** Reads the key at start (a bad file stops the start-up); imports it for signing when first needed. */
function readPrivateKey(file: string): () => Promise<client.PrivateKey> {
  const text = fs.readFileSync(file, 'utf8');
  const jwk = text.trimStart().startsWith('{') ? (JSON.parse(text) as { kid?: unknown }) : undefined;
  const key = jwk ? createPrivateKey({ key: jwk as never, format: 'jwk' }) : createPrivateKey(text);
  const alg = signingAlgorithmOf(key);
  const kid = typeof jwk?.kid === 'string' ? jwk.kid : undefined;
  return async () => ({ key: await importPKCS8(key.export({ type: 'pkcs8', format: 'pem' }) as string, alg), ...(kid ? { kid } : {}) });
}

/** The JWS algorithm of a private key (RFC 7518): one per key type, as the assertion needs one. */
function signingAlgorithmOf(key: KeyObject): string {
  const { asymmetricKeyType: type, asymmetricKeyDetails: details } = key;
  if (type === 'rsa') return 'RS256';
  if (type === 'rsa-pss') return 'PS256';
  if (type === 'ed25519') return 'EdDSA';
  const curve = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }[String(details?.namedCurve)];
  if (type === 'ec' && curve) return curve;
  throw new TypeError(`INTROSPECTION_PRIVATE_KEY_FILE holds a key this API cannot sign with (${type}); use RSA, EC P-256/384/521 or Ed25519`);
}
