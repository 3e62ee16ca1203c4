import type { Config } from '../../config.js';
import { createIntrospection, introspectedTokens, type Introspection, type IntrospectionOutcome } from './introspection.js';
import type { IntrospectionCache } from './introspection-cache.js';
import { createIntrospectionClient } from './introspection-client.js';

export type { Introspection, IntrospectionOutcome } from './introspection.js';
export { memoryIntrospectionCache, type CachedIntrospection, type IntrospectionCache } from './introspection-cache.js';

/** A confidential client the development authorization server registered for the API (`client_secret_basic`). */
export interface ProvidedIntrospectionClient {
  clientId: string;
  clientSecret: string;
}

export interface IntrospectionSetup {
  /** The development server's client for the API; without it, `INTROSPECTION_CLIENT_*` say how to authenticate. */
  provided?: ProvidedIntrospectionClient | undefined;
  /** Answers shared by every replica (Redis, with `REDIS_URL`). */
  shared?: IntrospectionCache | undefined;
  onIntrospection?: (outcome: IntrospectionOutcome, seconds: number, error?: unknown) => void;
}

/**
 * The introspection path the configuration asks for, or undefined when every issuer signs JWTs (`ACCESS_TOKEN_FORMAT`;
 * unset, `both` with the development server, which issues opaque tokens to one of its clients, else `jwt`).
 */
export function openIntrospection(
  config: Config,
  issuers: readonly string[],
  setup: IntrospectionSetup & { recordProof: (proof: string) => Promise<void> },
): Introspection | undefined {
  const formats = config.ACCESS_TOKEN_FORMAT ?? [setup.provided ? 'both' : 'jwt'];
  const byIssuer = new Map(issuers.map((issuer, index) => [issuer, formats[formats.length === 1 ? 0 : index]!] as const));
  const takes = introspectedTokens(byIssuer);
  if (!takes) return undefined;
  const issuer = [...byIssuer].find(([, format]) => format !== 'jwt')![0];
  const client = createIntrospectionClient({
    issuer,
    endpoint: config.INTROSPECTION_ENDPOINT,
    timeoutMs: config.ISSUER_TIMEOUT_MS,
    ...(setup.provided && !config.INTROSPECTION_CLIENT_ID
      ? { clientId: setup.provided.clientId, authMethod: 'client_secret_basic', clientSecret: setup.provided.clientSecret }
      : {
          clientId: config.INTROSPECTION_CLIENT_ID!,
          authMethod: config.INTROSPECTION_CLIENT_AUTH,
          clientSecret: config.INTROSPECTION_CLIENT_SECRET,
          privateKeyFile: config.INTROSPECTION_PRIVATE_KEY_FILE,
        }),
  });
  return createIntrospection({
    client,
    takes,
    audience: config.AUDIENCE,
    clockToleranceSeconds: config.CLOCK_TOLERANCE_SECONDS,
    permissionsClaim: config.PERMISSIONS_CLAIM,
    dpop: config.DPOP,
    dpopProofMaxAgeSeconds: config.DPOP_PROOF_MAX_AGE_SECONDS,
    cacheSeconds: config.INTROSPECTION_CACHE_SECONDS,
    cacheSize: config.INTROSPECTION_CACHE_SIZE,
    shared: setup.shared,
    recordProof: setup.recordProof,
    onIntrospection: setup.onIntrospection,
  });
}
