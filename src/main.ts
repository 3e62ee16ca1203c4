// First of all: tracing, when configured, must patch http, pg and ioredis before anything below loads them.
import { tracing } from './observability/tracing/start.js';
import { createApp } from './app.js';
import { createKeysProbe } from './auth/issuer-probe.js';
import type { ProvidedIntrospectionClient } from './auth/introspection/index.js';
import { ConfigError, loadConfig, loadDotEnv, type Config } from './config.js';
import { openStorage, type Storage } from './db/open-storage.js';
import { limitHeapGrowth } from './heap-growth.js';
import { startMetricsServer } from './http/metrics-server.js';
import { startServer, type RunningServer } from './http/server.js';
import { shutDownGracefully } from './http/shutdown.js';
import { observeIssuerFetches } from './auth/issuer-fetch-metrics.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { openShareableState } from './state/shareable-state.js';

function configOrExit(): Config {
  try {
    loadDotEnv();
    const config = loadConfig();
    if (!config.ISSUER_BASE_URL && config.NODE_ENV === 'production') {
      throw new ConfigError(
        'Invalid configuration: ISSUER_BASE_URL is not set, and NODE_ENV=production never starts the development ' +
          'authorization server. Point it at your authorization server, e.g. ISSUER_BASE_URL=https://YOUR_TENANT.auth0.com/ ' +
          'AUDIENCE=https://api.example.com',
      );
    }
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

/** Without ISSUER_BASE_URL outside production, the development authorization server plays the issuer. */
async function startDevIssuer(
  config: Config,
  logger: Logger,
): Promise<{ issuer: string; docsClientId: string | undefined; introspectionClient: ProvidedIntrospectionClient; close(): Promise<void> }> {
  // Loaded only here, so production never loads development code.
  const { startDevAuthorizationServer } = await import('../dev/authorization-server/index.js');
  let dev: Awaited<ReturnType<typeof startDevAuthorizationServer>>;
  try {
    dev = await startDevAuthorizationServer({
      host: '127.0.0.1',
      port: config.DEV_ISSUER_PORT,
      audience: config.AUDIENCE,
      dataDir: 'data/dev-issuer',
      // Registers the docs page's client, so "Authorize" in /docs works with nothing to configure.
      docsOrigin: config.PUBLIC_URL,
      log: (line) => logger.info({ component: 'dev-authorization-server' }, line),
    });
  } catch (error) {
    // Its options come from the configuration (AUDIENCE, DEV_ISSUER_PORT): say so in one line, as for any bad value.
    console.error(`Cannot start the development authorization server: ${(error as Error).message}`);
    process.exit(1);
  }
  logger.warn(
    { issuer: dev.issuer },
    `ISSUER_BASE_URL is not set: development authorization server at ${dev.issuer} (development only; users ` +
      'alice/alice-dev-password, bob/bob-dev-password). Sign in from ' + `${config.PUBLIC_URL}/docs ("Authorize"), or in another terminal: npm run login`,
  );
  return { issuer: dev.issuer, docsClientId: dev.docsClientId, introspectionClient: dev.introspectionClient, close: () => dev.close() };
}

/** The database DATABASE_URL names, schema brought up to date; one line and exit 1 when it cannot be opened. */
async function storageOrExit(config: Config, logger: Logger, metrics: Metrics): Promise<Storage> {
  try {
    return await openStorage(config, { logger, metrics });
  } catch (error) {
    // openStorage's message names the URL with its password redacted; the driver's own messages never carry it.
    console.error((error as Error).message);
    process.exit(1);
  }
}

const config = configOrExit();
limitHeapGrowth(config.HEAP_GROWING_PERCENT);
const logger = createLogger(config.LOG_LEVEL, undefined, config.NODE_ENV === 'development');
tracing.logTo(logger);
const devIssuer = config.ISSUER_BASE_URL ? undefined : await startDevIssuer(config, logger);
const issuers = config.ISSUER_BASE_URL ?? [devIssuer!.issuer];

// While tracing, the duration histograms link to sampled traces (exemplars), and /metrics is OpenMetrics to carry them.
const metrics = createMetrics({ exemplars: tracing.enabled });
// Set by the shutdown the moment a signal arrives; /readyz reads it.
let draining = false;
const storage = await storageOrExit(config, logger, metrics);
// Rate-limit counts and DPoP proof ids: in this process, or in Redis for every replica (REDIS_URL).
const state = openShareableState(config, { logger, metrics });
observeIssuerFetches(metrics, [...issuers, ...(config.JWKS_URI ? [config.JWKS_URI] : [])]);
const app = createApp({
  config,
  issuers,
  storage,
  state,
  logger,
  metrics,
  draining: () => draining,
  keysProbe: createKeysProbe({ issuers, jwksUri: config.JWKS_URI, timeoutMs: config.ISSUER_TIMEOUT_MS }),
  ...(devIssuer?.docsClientId ? { docsClientId: devIssuer.docsClientId } : {}),
  // Its opaque tokens (npm run login -- --opaque) are introspected with the client it registered for the API.
  ...(devIssuer ? { introspectionClient: devIssuer.introspectionClient } : {}),
});

// With REDIS_URL, the first requests should not find Redis still connecting (they would count per process, and a
// DPoP request would get 503); a Redis that does not answer within REDIS_TIMEOUT_MS delays the start no longer.
await state.connecting;
const servers: RunningServer[] = [];
const api = await startServer(app, { host: config.HOST, port: config.PORT });
servers.push(api);
if (config.METRICS_ENABLED) {
  const metricsServer = await startMetricsServer(metrics.registry, { host: config.METRICS_HOST, port: config.METRICS_PORT });
  servers.push(metricsServer);
  logger.info({ url: `${metricsServer.url}/metrics` }, 'metrics listening');
}
logger.info({ url: api.url, issuers, audience: config.AUDIENCE, node_env: config.NODE_ENV }, `Notes API listening on ${api.url}`);
if (config.DPOP_NONCE === 'required' && config.DPOP_NONCE_SECRET === undefined) {
  // Fine for one instance; several would refuse each other's nonces and make every client retry.
  logger.warn('DPOP_NONCE=required without DPOP_NONCE_SECRET: DPoP nonces come from a secret of this process only; give replicas one shared secret (see README)');
}

shutDownGracefully({
  servers,
  api,
  drainSeconds: config.SHUTDOWN_DRAIN_SECONDS,
  graceSeconds: config.SHUTDOWN_GRACE_SECONDS,
  onDrain: () => (draining = true),
  metrics,
  logger,
  cleanup: async () => {
    await app.close();
    await state.close();
    await storage.close();
    await tracing.shutdown();
    void devIssuer?.close();
  },
});
