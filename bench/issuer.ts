import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BENCH_INTROSPECTION_CLIENT } from './servers/common.js';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';

/**
 * The bench's authorization server: OpenID discovery and a JWKS with one RS256 key, on 127.0.0.1.
 * It mints every token the load needs and serves them, with its fetch counts, under `/_bench/`.
 * Prints `{"issuer": "..."}` on stdout once ready.
 */

export interface BenchTokens {
  /** For `bench|user`, who owns the 20 notes. */
  one: string;
  /** For `bench|writer`, who receives the notes of the POST scenario (so the reader's page stays 20 notes). */
  writer: string;
  /** 1,000 distinct valid tokens, for 1,000 distinct users. */
  many: string[];
  /** A token for `bench|user` whose signature does not verify (signed by a key the JWKS does not have, same `kid`). */
  invalid: string;
  /** Issue 23: an opaque token for `bench|user`, and more for cache misses, answered by the introspection endpoint. */
  opaque: string;
  opaqueFresh: string[];
}

export interface FetchCounts {
  jwks: number;
  discovery: number;
}

const audience = process.env.AUDIENCE;
if (!audience) throw new Error('AUDIENCE is required');
const TOKEN_COUNT = 1000;
const LIFETIME_SECONDS = 6 * 3600;
const SCOPE = 'read:notes write:notes delete:notes';

const kid = randomUUID();
const signing = await generateKeyPair('RS256');
const stranger = await generateKeyPair('RS256');
const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(signing.publicKey)), kid, alg: 'RS256', use: 'sig' }] });
const counts: FetchCounts = { jwks: 0, discovery: 0 };
/** Issue 23: the opaque tokens this issuer answers for at its introspection endpoint, with their claims. */
const opaqueTokens = new Map<string, string>();
let tokens = '';
let discovery = '';

const server = http.createServer((req, res) => {
  const send = (status: number, body: string) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(body);
  if (req.url === '/oauth/introspect' && req.method === 'POST') return void introspect(req, send);
  switch (req.url) {
    case '/.well-known/openid-configuration':
      counts.discovery++;
      return send(200, discovery);
    case '/.well-known/jwks.json':
      counts.jwks++;
      return send(200, jwks);
    case '/_bench/count':
      return send(200, JSON.stringify(counts));
    case '/_bench/tokens':
      return send(200, tokens);
    default:
      return send(404, '{"error":"not_found"}');
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
discovery = JSON.stringify({
  issuer,
  jwks_uri: `${issuer}.well-known/jwks.json`,
  authorization_endpoint: `${issuer}authorize`,
  token_endpoint: `${issuer}oauth/token`,
  introspection_endpoint: `${issuer}oauth/introspect`,
  response_types_supported: ['code'],
  subject_types_supported: ['public'],
  id_token_signing_alg_values_supported: ['RS256'],
  code_challenge_methods_supported: ['S256'],
});

const now = Math.floor(Date.now() / 1000);
const mint = (sub: string, key: CryptoKey = signing.privateKey) =>
  new SignJWT({ scope: SCOPE, client_id: 'bench-app', jti: randomUUID() })
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + LIFETIME_SECONDS)
    .sign(key);

/** Issue 23: RFC 7662 for the bench API's client only; the answer is the claims a JWT of the same user would carry. */
async function introspect(req: http.IncomingMessage, send: (status: number, body: string) => void): Promise<void> {
  let body = '';
  for await (const chunk of req) body += chunk;
  // RFC 6749 §2.3.1: id and secret are form-encoded before they are joined, so openid-client sends '-' as %2D.
  const credentials = `${BENCH_INTROSPECTION_CLIENT.id}:${BENCH_INTROSPECTION_CLIENT.secret}`;
  if (req.headers.authorization !== `Basic ${Buffer.from(credentials.replace(/-/g, '%2D')).toString('base64')}`) return send(401, '{"error":"invalid_client"}');
  send(200, opaqueTokens.get(new URLSearchParams(body).get('token') ?? '') ?? '{"active":false}');
}
const mintOpaque = (sub: string): string => {
  const token = randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, '');
  const claims = { active: true, iss: issuer, aud: audience, sub, client_id: 'bench-app', scope: SCOPE, token_type: 'Bearer', iat: now, exp: now + LIFETIME_SECONDS };
  opaqueTokens.set(token, JSON.stringify(claims));
  return token;
};

const minted: BenchTokens = {
  one: await mint('bench|user'),
  writer: await mint('bench|writer'),
  many: await Promise.all(Array.from({ length: TOKEN_COUNT }, (_, i) => mint(`bench|user-${i}`))),
  invalid: await mint('bench|user', stranger.privateKey),
  opaque: mintOpaque('bench|user'),
  opaqueFresh: Array.from({ length: 50 }, (_, i) => mintOpaque(`bench|opaque-${i}`)),
};
tokens = JSON.stringify(minted);

const stop = () => {
  server.close();
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
console.log(JSON.stringify({ issuer }));
