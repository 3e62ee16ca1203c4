import { BENCH_INTROSPECTION_CLIENT } from './servers/common.js';

/** The audience the bench issuer's tokens carry and every benched server checks. */
export const BENCH_AUDIENCE = 'https://notes.bench.test/api';

/**
 * Our API in the bench's production configuration, everything on, limits too high to trigger: what `npm run bench`
 * and `npm run bench:tracing` start it with, on the database file or URL `databaseUrl`, plus what each adds.
 */
export function ourApiEnv(issuer: string, databaseUrl: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    METRICS_ENABLED: 'true',
    METRICS_PORT: '0',
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMIT_PER_USER: '100000000',
    RATE_LIMIT_PER_IP: '100000000',
    ISSUER_BASE_URL: issuer,
    AUDIENCE: BENCH_AUDIENCE,
    // Issue 23: JWTs as before, and opaque tokens introspected at the bench issuer.
    ACCESS_TOKEN_FORMAT: 'both',
    INTROSPECTION_CLIENT_ID: BENCH_INTROSPECTION_CLIENT.id,
    INTROSPECTION_CLIENT_SECRET: BENCH_INTROSPECTION_CLIENT.secret,
    DATABASE_URL: databaseUrl,
    PORT: '0',
    HOST: '127.0.0.1',
  };
}
