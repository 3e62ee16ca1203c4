import path from 'node:path';
import { z } from 'zod';
import { parseDatabaseUrl } from './database-url.js';

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' });

const commaList = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean));

const SUPPORTED_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/**
 * Every setting the API reads, with its environment variable, default and meaning.
 * `config.ts` is the only module that reads `process.env`.
 */
export const configSchema = z.object({
  /**
   * The authorization server(s), comma-separated (e.g. an Auth0 custom domain and its canonical domain); OpenID
   * discovery finds each one's JWKS, and a token is checked only against its own issuer's keys.
   */
  ISSUER_BASE_URL: commaList.pipe(z.array(httpUrl).min(1, 'must name at least one issuer')).optional(),
  /** The API identifier: the `aud` every access token must carry. */
  AUDIENCE: z.string().min(1, 'must not be empty').default('http://127.0.0.1:3000/'),
  /** Skips discovery and fetches the signing keys from this URL. */
  JWKS_URI: httpUrl.optional(),
  /** Signing algorithms accepted, comma-separated; HMAC and `none` are never accepted (RFC 8725 §3.1). */
  TOKEN_SIGNING_ALGS: commaList
    .default(['RS256'])
    .pipe(z.array(z.enum(SUPPORTED_ALGS, { message: `each must be one of ${SUPPORTED_ALGS.join(', ')}` })).min(1, 'must list at least one algorithm')),
  /** Seconds of clock skew tolerated on `exp`, `nbf` and `iat`. */
  CLOCK_TOLERANCE_SECONDS: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(0).max(300).default(5),
  /** Require the RFC 9068 profile: `typ: at+jwt` and `iss exp aud sub client_id iat jti`. */
  STRICT_RFC9068: booleanFlag.default(false),
  /** Also read granted scopes from this array claim (Auth0 RBAC: `permissions`). */
  PERMISSIONS_CLAIM: z.string().regex(/^[A-Za-z0-9_:.\-/]+$/, 'must be a claim name').optional(),
  /** Applications (`client_id`/`azp`) allowed to call the API, comma-separated; unset allows any. */
  ALLOWED_CLIENT_IDS: commaList.optional(),
  /** The `realm` of every `WWW-Authenticate` challenge. */
  AUTH_REALM: z.string().regex(/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/, 'must be printable ASCII without quotes or backslashes').default('notes-api'),
  /** Milliseconds allowed for each discovery or JWKS request to the issuer. */
  ISSUER_TIMEOUT_MS: z.coerce.number({ message: 'must be a number' }).int().min(100).max(60_000).default(5000),
  /** Shortest time between two fetches of an issuer's key set: a new signing key is accepted within about this long. */
  JWKS_COOLDOWN_MS: z.coerce.number({ message: 'must be a number' }).int().min(0).max(3_600_000).default(1_000),
  /** Longest wait between key-set fetches while tokens keep naming keys the issuer does not publish. */
  JWKS_MAX_BACKOFF_MS: z.coerce.number({ message: 'must be a number' }).int().min(0).max(3_600_000).default(30_000),
  /**
   * The API's external origin (`https://api.example.com`), the only source of the absolute URLs it sends (resource
   * metadata, challenges, the docs page); never taken from a request's `Host`. Default: the origin of `AUDIENCE` when
   * that is set to an http(s) URL, else `http://HOST:PORT`.
   */
  PUBLIC_URL: httpUrl.transform((value) => new URL(value).origin).optional(),
  /**
   * The client id Swagger UI in `/docs` signs in with: a public browser client (Auth0: a "Single Page Application")
   * whose callback URL is `PUBLIC_URL/docs/oauth2-redirect.html`. Unset with the development authorization server,
   * its own docs client; unset with another issuer, the docs page explains how to paste a token instead.
   */
  DOCS_CLIENT_ID: z.string().regex(/^[\x21-\x7e]+$/, 'must be a client id (printable ASCII, no spaces)').optional(),
  /** Port the API listens on. */
  PORT: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(0).max(65535).default(3000),
  /** Address the API binds to. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** How many verified bearer tokens are kept, so each signature is checked once; 0 turns the cache off. */
  TOKEN_CACHE_SIZE: z.coerce.number({ message: 'must be a number' }).int().min(0).max(1_000_000).default(10_000),
  /**
   * How far V8 lets the old generation grow past what survived the last full collection, in percent; 0 leaves it to
   * V8 (which lets it grow up to fourfold under load, so RSS swings by tens of MiB). See src/heap-growth.ts.
   */
  HEAP_GROWING_PERCENT: z.coerce.number({ message: 'must be a number' }).int().min(0).max(1000).default(100),
  /** DPoP (RFC 9449): `allowed` accepts Bearer and DPoP-bound tokens, `required` only DPoP, `disabled` only Bearer. */
  DPOP: z.enum(['allowed', 'required', 'disabled']).default('allowed'),
  /** How old a DPoP proof (`iat`) may be, in seconds; also how long its `jti` is remembered against replay. */
  DPOP_PROOF_MAX_AGE_SECONDS: z.coerce.number({ message: 'must be a number' }).int().min(1).max(3600).default(300),
  /** How many DPoP proof ids the in-process replay store keeps at most (oldest forgotten first); unused with `REDIS_URL`. */
  DPOP_REPLAY_CACHE_SIZE: z.coerce.number({ message: 'must be a number' }).int().min(100).max(10_000_000).default(100_000),
  /**
   * DPoP server nonces (RFC 9449 §9): `required` refuses a proof without a current nonce from this API (401
   * `use_dpop_nonce` with a `DPoP-Nonce` header), so a proof cannot be made in advance; `off` (default) does not ask.
   */
  DPOP_NONCE: z.enum(['off', 'required']).default('off'),
  /**
   * The secret DPoP nonces are derived from (HMAC over a time step), at least 32 characters; replicas that share it
   * accept each other's nonces. Unset: a random secret per process, which replicas do not share. Never logged.
   */
  DPOP_NONCE_SECRET: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)').optional(),
  /** Step-up (RFC 9470): deleting a note needs a login (`auth_time`) at most this many seconds old. */
  STEP_UP_MAX_AGE: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(0).optional(),
  /** Step-up (RFC 9470): deleting a note needs one of these `acr` values, space- or comma-separated. */
  STEP_UP_ACR_VALUES: z
    .string()
    .transform((value) => value.split(/[\s,]+/).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be acr values without quotes')).min(1))
    .optional(),
  /** The API's name in its protected resource metadata (RFC 9728 `resource_name`). */
  RESOURCE_NAME: z.string().min(1).default('Notes API'),
  /** Port of the embedded development authorization server, started when `ISSUER_BASE_URL` is unset outside production. */
  DEV_ISSUER_PORT: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(0).max(65535).default(4000),
  /** Which proxies to trust for the client address and protocol: `false`, `true`, a hop count, or addresses/subnets (Express `trust proxy`). */
  TRUST_PROXY: z
    .string()
    .regex(/^(true|false|\d{1,2}|[0-9A-Fa-f.:/]+(\s*,\s*[0-9A-Fa-f.:/]+)*|loopback|linklocal|uniquelocal)$/, 'must be true, false, a hop count, or addresses')
    .transform((value): boolean | number | string => (value === 'true' ? true : value === 'false' ? false : /^\d+$/.test(value) ? Number(value) : value))
    .default(false),
  /** Browser origins allowed by CORS, comma-separated (`https://app.example.com`); unset, no cross-origin browser access. */
  CORS_ORIGINS: commaList.pipe(z.array(z.url({ message: 'each must be an origin such as https://app.example.com' }))).optional(),
  /** Turn request rate limiting on or off. */
  RATE_LIMIT_ENABLED: booleanFlag.default(true),
  /** Length of a rate-limit window, in seconds. */
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number({ message: 'must be a number' }).int().min(1).max(86_400).default(60),
  /** Requests per window for each signed-in user (`sub`). */
  RATE_LIMIT_PER_USER: z.coerce.number({ message: 'must be a number' }).int().min(1).default(600),
  /** Requests per window from one client address that do not carry a valid token. */
  RATE_LIMIT_PER_IP: z.coerce.number({ message: 'must be a number' }).int().min(1).default(120),
  /**
   * How often, in milliseconds, each replica sends the hits it counted to Redis and takes back the global totals
   * (with `REDIS_URL`). A user's requests admitted in one window exceed `RATE_LIMIT_PER_USER` by at most what the
   * other replicas admit within one such interval.
   */
  RATE_LIMIT_SYNC_INTERVAL_MS: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(10).max(10_000).default(100),
  /**
   * Redis (6 or later) or Valkey holding the state replicas share: rate-limit counts and DPoP proof ids
   * (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS). Unset: each process keeps its own.
   */
  REDIS_URL: z.url({ protocol: /^rediss?$/, message: 'must be a redis:// or rediss:// URL' }).optional(),
  /** Prefix of every key this API writes in Redis, so several APIs (or tests) can share one server. */
  REDIS_KEY_PREFIX: z.string().regex(/^[!-~]{1,64}$/, 'must be 1 to 64 printable characters without spaces').default('notes-api:'),
  /** Milliseconds allowed to connect to Redis and for each command; past it, the command fails (see README). */
  REDIS_TIMEOUT_MS: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(10).max(60_000).default(1000),
  // --- Opaque access tokens: RFC 7662 introspection (issue 23) ---
  /**
   * What each issuer of `ISSUER_BASE_URL` issues, comma-separated in the same order (one value applies to all): `jwt`
   * (verified with its keys), `opaque` (every token is asked of its introspection endpoint, RFC 7662), or `both` (a
   * token that is not a JWT is introspected). At most one issuer may take opaque tokens: an opaque token does not say
   * who issued it. Unset: `jwt`, or `both` with the development authorization server.
   */
  ACCESS_TOKEN_FORMAT: commaList.pipe(z.array(z.enum(['jwt', 'opaque', 'both'], { message: 'each must be jwt, opaque or both' })).min(1)).optional(),
  /** The introspection endpoint; unset, the issuer's discovery document names it (`introspection_endpoint`). */
  INTROSPECTION_ENDPOINT: httpUrl.optional(),
  /** The API's own client id at the authorization server, for introspection (a confidential client). */
  INTROSPECTION_CLIENT_ID: z.string().regex(/^[\x20-\x7e]+$/, 'must be a client id (printable ASCII)').optional(),
  /** How the API authenticates to the introspection endpoint (RFC 7662 §2.1, RFC 7523 for `private_key_jwt`). */
  INTROSPECTION_CLIENT_AUTH: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt']).default('client_secret_basic'),
  /** The client secret, for `client_secret_basic` and `client_secret_post`. Never logged. */
  INTROSPECTION_CLIENT_SECRET: z.string().min(1).optional(),
  /** For `private_key_jwt`: a file holding the private key, PKCS #8 PEM or a private JWK (JSON, with its `kid`). */
  INTROSPECTION_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  /**
   * Longest time an introspection answer is reused, in seconds (never past the token's `exp`): how long a token revoked
   * at the issuer may still be accepted. An inactive answer is reused for at most 10 seconds. 0 asks on every request.
   */
  INTROSPECTION_CACHE_SECONDS: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(0).max(3600).default(60),
  /** How many introspection answers each process keeps at most (least recently used forgotten first). */
  INTROSPECTION_CACHE_SIZE: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(1).max(1_000_000).default(10_000),
  // --- end of opaque access tokens ---
  /** Serve Prometheus metrics on a separate listener. */
  METRICS_ENABLED: booleanFlag.default(true),
  /** Port of the metrics listener (`/metrics`); never the public port. */
  METRICS_PORT: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(0).max(65535).default(9464),
  /** Address of the metrics listener; widen it (e.g. `0.0.0.0`) only inside a private network. */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * On SIGTERM/SIGINT, how long the server keeps accepting and serving (with `/readyz` answering 503 `draining` and
   * `Connection: close` on every response) before it stops accepting, so load balancers take it out first. Longer than
   * a balancer needs to notice: its check interval × failures to mark down (HAProxy in deploy/: 1 s × 2). Default: 5
   * with `NODE_ENV=production`, else 0 (Ctrl-C in a terminal stops at once).
   */
  SHUTDOWN_DRAIN_SECONDS: z.coerce.number({ message: 'must be a number' }).min(0).max(300).optional(),
  /** On SIGTERM/SIGINT, after the drain, how long in-flight requests may take to finish before connections are cut. */
  SHUTDOWN_GRACE_SECONDS: z.coerce.number({ message: 'must be a number' }).min(0).max(600).default(10),
  /**
   * Where notes are kept: `postgres://…` or `postgresql://…` for PostgreSQL (`sslmode` in the URL for TLS); a file path,
   * `file:` or `sqlite:` URL for SQLite. Any other scheme stops the start-up (its message never repeats the URL).
   */
  DATABASE_URL: z
    .string()
    .min(1)
    .default(path.join('data', 'notes.db'))
    .superRefine((value, context) => {
      try {
        parseDatabaseUrl(value);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  /** PostgreSQL: the most connections this process holds (one pool per process); replicas × this ≤ `max_connections`. */
  DATABASE_POOL_SIZE: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(1).max(1000).default(10),
  /** PostgreSQL: milliseconds to open a connection, or to wait for a free one in the pool, before answering 503. */
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number({ message: 'must be a number' }).int().min(100).max(60_000).default(3000),
  /** PostgreSQL: milliseconds a statement may run (the server's `statement_timeout`) before it is cancelled and answered 503. */
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number({ message: 'must be a number' }).int().min(100).max(600_000).default(5000),
  /** PostgreSQL: a PEM file of the CA(s) the server's certificate must chain to (managed services' CA bundles); turns on verified TLS. */
  DATABASE_CA_FILE: z.string().min(1).optional(),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Client-error (4xx) lines logged per client address per minute; past it, that address's client errors are counted,
   * and summed up in one `warn` line a minute. `0` logs every one.
   */
  LOG_CLIENT_ERRORS_PER_MINUTE: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(0).default(100),
  /** `production` refuses development defaults. */
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
});

export type Config = Readonly<
  Omit<z.output<typeof configSchema>, 'PUBLIC_URL' | 'SHUTDOWN_DRAIN_SECONDS'> & { PUBLIC_URL: string; SHUTDOWN_DRAIN_SECONDS: number }
>;

/** Thrown when the environment does not describe a valid configuration; its message is one line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Validates an environment (by default `process.env`) and returns a frozen, typed configuration.
 *
 * @example
 * const config = loadConfig({ ISSUER_BASE_URL: 'https://example.auth0.com/', AUDIENCE: 'https://api.example.com' });
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const known = Object.fromEntries(
    Object.keys(configSchema.shape)
      .map((key) => [key, env[key] === '' ? undefined : env[key]] as const)
      .filter(([, value]) => value !== undefined),
  );
  const parsed = configSchema.safeParse(known);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'configuration');
    throw new ConfigError(`Invalid configuration: ${variable} ${issue.message}`);
  }
  if (parsed.data.JWKS_URI && (parsed.data.ISSUER_BASE_URL?.length ?? 0) > 1) {
    throw new ConfigError('Invalid configuration: JWKS_URI works with one issuer only; with several, each is discovered');
  }
  if (parsed.data.DPOP_NONCE === 'required' && parsed.data.DPOP === 'disabled') {
    throw new ConfigError('Invalid configuration: DPOP_NONCE=required needs DPOP=allowed or DPOP=required');
  }
  checkIntrospectionSettings(parsed.data);
  return Object.freeze({
    ...parsed.data,
    PUBLIC_URL: parsed.data.PUBLIC_URL ?? defaultPublicUrl(parsed.data, 'AUDIENCE' in known),
    SHUTDOWN_DRAIN_SECONDS: parsed.data.SHUTDOWN_DRAIN_SECONDS ?? (parsed.data.NODE_ENV === 'production' ? 5 : 0),
  });
}

/** Opaque tokens (issue 23): one format per issuer, one introspecting issuer at most, and the credentials it needs. */
function checkIntrospectionSettings(config: z.output<typeof configSchema>): void {
  const formats = config.ACCESS_TOKEN_FORMAT;
  const issuers = config.ISSUER_BASE_URL?.length ?? 1;
  if (formats && formats.length !== 1 && formats.length !== issuers) {
    throw new ConfigError(`Invalid configuration: ACCESS_TOKEN_FORMAT must have one value, or one per issuer (${issuers})`);
  }
  if (!formats || formats.every((format) => format === 'jwt')) return;
  if (formats.length === 1 ? issuers > 1 : formats.filter((format) => format !== 'jwt').length > 1) {
    throw new ConfigError('Invalid configuration: ACCESS_TOKEN_FORMAT may name one issuer for opaque tokens only (an opaque token does not say who issued it)');
  }
  // Without ISSUER_BASE_URL the development server registers the API's client itself.
  if (!config.ISSUER_BASE_URL) return;
  if (!config.INTROSPECTION_CLIENT_ID) throw new ConfigError('Invalid configuration: INTROSPECTION_CLIENT_ID is needed for opaque tokens (ACCESS_TOKEN_FORMAT)');
  if (config.INTROSPECTION_CLIENT_AUTH === 'private_key_jwt' ? !config.INTROSPECTION_PRIVATE_KEY_FILE : !config.INTROSPECTION_CLIENT_SECRET) {
    const needed = config.INTROSPECTION_CLIENT_AUTH === 'private_key_jwt' ? 'INTROSPECTION_PRIVATE_KEY_FILE' : 'INTROSPECTION_CLIENT_SECRET';
    throw new ConfigError(`Invalid configuration: INTROSPECTION_CLIENT_AUTH=${config.INTROSPECTION_CLIENT_AUTH} needs ${needed}`);
  }
}

function defaultPublicUrl(config: { AUDIENCE: string; HOST: string; PORT: number }, audienceSet: boolean): string {
  // AUDIENCE's own default names port 3000 whatever PORT is: only an AUDIENCE that was set says where the API is.
  if (audienceSet && /^https?:\/\//i.test(config.AUDIENCE) && URL.canParse(config.AUDIENCE)) return new URL(config.AUDIENCE).origin;
  return new URL(`http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${config.PORT}`).origin;
}

/** Reads a `.env` file beside the process, when there is one, without overriding the real environment. */
export function loadDotEnv(file = '.env'): void {
  try {
    process.loadEnvFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
