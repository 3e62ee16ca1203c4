import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
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
  /**
   * Issues an opaque access token (random, remembered here) with the claims `mint` would sign, which the introspection
   * endpoint (RFC 7662, `introspection_endpoint` in discovery) answers for; pass a claim as `undefined` to leave it out.
   */
  mintOpaque(claims?: Record<string, unknown>): string;
  /** Makes an opaque token inactive, as revocation at the issuer does. */
  revoke(token: string): void;
  /** Calls to the introspection endpoint so far. */
  readonly introspections: number;
  /** How the introspection endpoint behaves: `ok` (default), or failing in one of these ways. */
  setIntrospection(mode: IntrospectionMode): void;
  close(): Promise<void>;
}

/** `slow` answers after 2 s; `garbage` answers 200 with a body that is not JSON; `refuse-client` 401 invalid_client. */
export type IntrospectionMode = 'ok' | 'down' | 'slow' | 'garbage' | 'error500' | 'refuse-client';

/** The API's client at the test issuer's introspection endpoint (`client_secret_basic` or `client_secret_post`). */
export const INTROSPECTION_CLIENT = { id: 'notes-api', secret: 'notes-api-test-secret' } as const;

/** The API settings that make it introspect the test issuer's opaque tokens (beside its JWTs). */
export const INTROSPECTION_ENV = {
  ACCESS_TOKEN_FORMAT: 'both',
  INTROSPECTION_CLIENT_ID: INTROSPECTION_CLIENT.id,
  INTROSPECTION_CLIENT_SECRET: INTROSPECTION_CLIENT.secret,
} as const;

export const DEFAULT_AUDIENCE = 'https://notes.example.test/api';

export async function startTestIssuer(options: { audience?: string } = {}): Promise<TestIssuer> {
  const audience = options.audience ?? DEFAULT_AUDIENCE;
  const published: IssuerKey[] = [];
  const current = new Map<SigningAlg, IssuerKey>();
  const fetches = { jwks: 0, discovery: 0 };
  const received: { path: string; headers: http.IncomingHttpHeaders }[] = [];
  let down = false;
  let jwksCacheControl: string | undefined;
  const opaque = new Map<string, Record<string, unknown>>();
  let introspections = 0;
  let introspectionMode: IntrospectionMode = 'ok';

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

  const introspect = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    introspections++;
    let body = '';
    for await (const chunk of req) body += chunk;
    const form = new URLSearchParams(body);
    const send = (status: number, answer: string) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(answer);
    if (introspectionMode === 'slow') await new Promise((resolve) => setTimeout(resolve, 2000));
    if (introspectionMode === 'garbage') return send(200, '<html>not json');
    if (introspectionMode === 'error500') return send(500, '{"error":"server_error"}');
    // RFC 6749 §2.3.1: the id and secret are form-encoded before they are joined and base64-encoded.
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const [id, secret] = basic ? Buffer.from(basic, 'base64').toString().split(':').map((part) => decodeURIComponent(part.replace(/\+/g, ' '))) : [];
    const authenticated =
      (id === INTROSPECTION_CLIENT.id && secret === INTROSPECTION_CLIENT.secret) ||
      (form.get('client_id') === INTROSPECTION_CLIENT.id && form.get('client_secret') === INTROSPECTION_CLIENT.secret);
    if (!authenticated || introspectionMode === 'refuse-client') return send(401, '{"error":"invalid_client"}');
    const claims = opaque.get(form.get('token') ?? '');
    return send(200, JSON.stringify(claims ? { active: true, ...claims } : { active: false }));
  };

  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/oauth/introspect' && req.method === 'POST') {
      if (introspectionMode === 'down') return res.destroy();
      return void introspect(req, res);
    }
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
        introspection_endpoint: `${url}oauth/introspect`,
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

  /** The claims `mint` signs: a user token for alice with every notes scope, valid for 10 minutes. */
  const claimsOf = (claims: Record<string, unknown>): JWTPayload => {
    const now = Math.floor(Date.now() / 1000);
    return Object.fromEntries(
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
  };

  const mint = async (claims: Record<string, unknown> = {}, mintOptions: MintOptions = {}): Promise<string> => {
    const alg = mintOptions.alg ?? 'RS256';
    const key = mintOptions.kid ? published.find((k) => k.kid === mintOptions.kid) : current.get(alg);
    if (!key) throw new Error(`no key ${mintOptions.kid ?? alg}`);
    return new SignJWT(claimsOf(claims))
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
    mintOpaque(claims: Record<string, unknown> = {}) {
      const token = randomBytes(32).toString('base64url');
      const payload = claimsOf(claims);
      opaque.set(token, { token_type: payload.cnf === undefined ? 'Bearer' : 'DPoP', ...payload });
      return token;
    },
    revoke(token: string) {
      opaque.delete(token);
    },
    get introspections() {
      return introspections;
    },
    setIntrospection(mode: IntrospectionMode) {
      introspectionMode = mode;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
