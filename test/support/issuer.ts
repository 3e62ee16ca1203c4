import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export type SigningAlg = 'RS256' | 'ES256';

interface IssuerKey {
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export interface MintOptions {
  alg?: SigningAlg;
  /** Sign with the key of this `kid` (default: the current signing key of `alg`). */
  kid?: string;
  /** Extra or replaced protected-header parameters (`typ`, `jku`, `kid`…). */
  header?: Record<string, unknown>;
  /** Sign with this key instead, under the current key's `kid` (a key the JWKS does not have). */
  privateKey?: CryptoKey;
}

/** A real OpenID issuer on 127.0.0.1: discovery document, JWKS, keys made by jose, tokens signed for real. */
export interface TestIssuer {
  /** The issuer identifier, e.g. `http://127.0.0.1:40123/` — what tokens carry as `iss`. */
  readonly url: string;
  readonly audience: string;
  /** How many times the JWKS and the discovery document were fetched. */
  readonly fetches: { jwks: number; discovery: number };
  /** Every request it received: its path and headers (e.g. the `traceparent` an API sent). */
  readonly received: { path: string; headers: http.IncomingHttpHeaders }[];
  /**
   * Signs an access token. Claims default to a user token for alice with every notes scope;
   * pass a claim as `undefined` to leave it out.
   */
  mint(claims?: Record<string, unknown>, options?: MintOptions): Promise<string>;
  /** Signs any header and payload as given, bypassing jose's own checks (for tokens jose would refuse to make). */
  signRaw(header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string>;
  /** Makes a new key (published in the JWKS) the signing key of its algorithm; returns its `kid`. */
  rotate(alg?: SigningAlg): Promise<string>;
  /** Unpublishes the key of this `kid` from the JWKS (a current signing key still signs, under a kid the JWKS lacks). */
  removeKey(kid: string): void;
  /** Options that sign with a fresh key the JWKS never published, under a published `kid`. */
  unpublishedKey(alg?: SigningAlg): Promise<MintOptions>;
  /** The public key of the current signing key, as PEM (for algorithm-confusion tests). */
  publicKeyPem(alg?: SigningAlg): Promise<string>;
  /** While down, every endpoint answers 503. */
  setDown(down: boolean): void;
  /** The `Cache-Control` header of the JWKS response (none when undefined, the default). */
  setJwksCacheControl(value: string | undefined): void;
  close(): Promise<void>;
}

export const DEFAULT_AUDIENCE = 'https://notes.example.test/api';

export async function startTestIssuer(options: { audience?: string } = {}): Promise<TestIssuer> {
  const audience = options.audience ?? DEFAULT_AUDIENCE;
  const published: IssuerKey[] = [];
  const current = new Map<SigningAlg, IssuerKey>();
  const fetches = { jwks: 0, discovery: 0 };
  const received: { path: string; headers: http.IncomingHttpHeaders }[] = [];
  let down = false;
  let jwksCacheControl: string | undefined;

  const makeKey = async (alg: SigningAlg): Promise<IssuerKey> => {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = randomUUID();
    return { kid, alg, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
  };
  const rotate = async (alg: SigningAlg = 'RS256'): Promise<string> => {
    const key = await makeKey(alg);
    published.push(key);
    current.set(alg, key);
    return key.kid;
  };
  await rotate('RS256');
  await rotate('ES256');

  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    };
    received.push({ path, headers: req.headers });
    if (path === '/.well-known/openid-configuration') fetches.discovery++;
    if (path === '/.well-known/jwks.json') fetches.jwks++;
    if (down) return send(503, { error: 'temporarily_unavailable' });
    if (path === '/.well-known/openid-configuration') {
      return send(200, {
        issuer: url,
        jwks_uri: `${url}.well-known/jwks.json`,
        authorization_endpoint: `${url}authorize`,
        token_endpoint: `${url}oauth/token`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256', 'ES256'],
        code_challenge_methods_supported: ['S256'],
      });
    }
    if (path === '/.well-known/jwks.json') {
      if (jwksCacheControl !== undefined) res.setHeader('Cache-Control', jwksCacheControl);
      return send(200, { keys: published.map((key) => key.publicJwk) });
    }
    return send(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const mint = async (claims: Record<string, unknown> = {}, mintOptions: MintOptions = {}): Promise<string> => {
    const alg = mintOptions.alg ?? 'RS256';
    const key = mintOptions.kid ? published.find((k) => k.kid === mintOptions.kid) : current.get(alg);
    if (!key) throw new Error(`no key ${mintOptions.kid ?? alg}`);
    const now = Math.floor(Date.now() / 1000);
    const payload: JWTPayload = Object.fromEntries(
      Object.entries({
        iss: url,
        aud: audience,
        sub: 'auth0|alice',
        client_id: 'native-app',
        scope: 'read:notes write:notes delete:notes',
        iat: now,
        exp: now + 600,
        jti: randomUUID(),
        ...claims,
      }).filter(([, value]) => value !== undefined),
    );
    return new SignJWT(payload)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...mintOptions.header })
      .sign(mintOptions.privateKey ?? key.privateKey);
  };

  const signRaw = async (header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> => {
    const key = current.get('RS256')!;
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const input = `${encode({ alg: 'RS256', kid: key.kid, ...header })}.${encode(payload)}`;
    const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key.privateKey, new TextEncoder().encode(input));
    return `${input}.${Buffer.from(signature).toString('base64url')}`;
  };

  return {
    url,
    audience,
    fetches,
    received,
    mint,
    signRaw,
    rotate,
    removeKey(kid: string) {
      const index = published.findIndex((key) => key.kid === kid);
      if (index === -1) throw new Error(`no published key ${kid}`);
      published.splice(index, 1);
    },
    async unpublishedKey(alg: SigningAlg = 'RS256') {
      return { alg, privateKey: (await makeKey(alg)).privateKey };
    },
    async publicKeyPem(alg: SigningAlg = 'RS256') {
      const { exportSPKI } = await import('jose');
      return exportSPKI(current.get(alg)!.publicKey);
    },
    setDown(value: boolean) {
      down = value;
    },
    setJwksCacheControl(value: string | undefined) {
      jwksCacheControl = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
