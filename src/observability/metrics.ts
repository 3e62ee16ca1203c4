import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type RegistryContentType } from 'prom-client';

/** The API's Prometheus metrics, in a registry of their own (so tests and several apps in one process do not collide). */
export interface Metrics {
  /** Renders the OpenMetrics text format when `exemplars` is on, else the Prometheus text format. */
  readonly registry: Registry<RegistryContentType>;
  /**
   * Whether the two duration histograms take exemplars (trace id and span id of a sampled request): observe with
   * `histogram.observe({ labels, value, exemplarLabels })`, which a `.labels()` child cannot do. Then a child's
   * `observe` still works, but not a child's `startTimer` (prom-client 15 throws when its timer ends).
   */
  readonly exemplars: boolean;
  /** Sets `shutdown_drain_started_seconds` to now: draining for shutdown began. */
  drainStarted(): void;
  /** Counts a request received while draining (`shutdown_drain_requests_total`). */
  drainRequest(): void;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
  /** Counts a request refused by authentication or authorization, by its OAuth error code (`none`: no credentials). */
  countAuthRejection(error: string): void;
  readonly issuerFetches: Counter<'kind' | 'outcome'>;
  readonly tokenVerifications: Counter<'outcome'>;
  readonly dbQueryDuration: Histogram<'operation'>;
  /**
   * Redis commands that failed (Redis unreachable or too slow), by what they were for: `rate_limit_sync` (limits
   * then count per process: they fail open) or `dpop_replay` (the DPoP request is refused with 503: fails closed).
   */
  readonly redisFailures: Counter<'operation'>;
  /** Reports the size of the verified-token cache as `token_cache_entries`. */
  watchTokenCache(cache: { readonly size: number }): void;
  /** Reports a connection pool (PostgreSQL) as `db_pool_connections{state}` and `db_pool_waiting_requests`, read at scrape. */
  watchDatabasePool(pool: DatabasePool): void;
}

/** What a pool tells about itself (node-postgres's Pool has these). */
export interface DatabasePool {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
}

/**
 * The API's metrics. With `exemplars` (main.ts: while tracing is on), the registry renders OpenMetrics, the only text
 * format that carries exemplars, for every scrape: prom-client renames a counter's family when it renders OpenMetrics
 * (`auth_rejections_total` becomes `auth_rejections` with `_total` samples) and never back, so one process cannot
 * answer both formats. Without, the Prometheus text format, as before exemplars existed.
 */
export function createMetrics(options: { defaultMetrics?: boolean; exemplars?: boolean } = {}): Metrics {
  const exemplars = options.exemplars ?? false;
  const registry = new Registry<RegistryContentType>();
  if (exemplars) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const caches: Array<{ readonly size: number }> = [];
  // Refusals are tallied in a plain map and handed to the counter when it is scraped: prom-client hashes a label set
  // on every `inc`, and a flood of forged tokens is exactly when refusals must stay cheap (docs/performance.md).
  const rejections = new Map<string, number>();
  new Counter({
    name: 'auth_rejections_total',
    help: 'Requests refused by authentication or authorization, by OAuth error code (none: no credentials).',
    labelNames: ['error'],
    registers: [registry],
    collect() {
      for (const [error, count] of rejections) this.inc({ error }, count);
      rejections.clear();
    },
  });
  new Gauge({
    name: 'token_cache_entries',
    help: 'Verified bearer tokens currently cached (JWTs verified, and introspection answers held by this process).',
    registers: [registry],
    collect() {
      this.set(caches.reduce((sum, cache) => sum + cache.size, 0));
    },
  });
  const pools: DatabasePool[] = [];
  new Gauge({
    name: 'db_pool_connections',
    help: 'Database connections held by the pool, by state: in_use (running a query) or idle.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      let idle = 0;
      let total = 0;
      for (const pool of pools) {
        idle += pool.idleCount;
        total += pool.totalCount;
      }
      this.set({ state: 'in_use' }, total - idle);
      this.set({ state: 'idle' }, idle);
    },
  });
  new Gauge({
    name: 'db_pool_waiting_requests',
    help: 'Queries waiting for a free database connection.',
    registers: [registry],
    collect() {
      this.set(pools.reduce((sum, pool) => sum + pool.waitingCount, 0));
    },
  });
  // Shutdown: when draining began (a scrape during the drain sees it) and the requests received since.
  const drainStarted = new Gauge({
    name: 'shutdown_drain_started_seconds',
    help: 'When draining for shutdown began (Unix time, seconds); 0 while not draining.',
    registers: [registry],
  });
  const drainRequests = new Counter({
    name: 'shutdown_drain_requests_total',
    help: 'Requests received while draining for shutdown (each answered with Connection: close).',
    registers: [registry],
  });
  return {
    drainStarted: () => drainStarted.set(Date.now() / 1000),
    drainRequest: () => drainRequests.inc(),
    watchTokenCache: (cache) => caches.push(cache),
    watchDatabasePool: (pool) => pools.push(pool),
    countAuthRejection: (error) => rejections.set(error, (rejections.get(error) ?? 0) + 1),
    registry,
    exemplars,
    httpRequestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Duration of HTTP requests, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
      enableExemplars: exemplars,
    }),
    issuerFetches: new Counter({
      name: 'issuer_fetches_total',
      help: 'Requests to the authorization server for its metadata (discovery) or keys (jwks), by outcome.',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    }),
    tokenVerifications: new Counter({
      name: 'token_verifications_total',
      help: 'Access tokens verified in full (signature and claims), by outcome; requests served from the token cache are not counted.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    dbQueryDuration: new Histogram({
      name: 'db_query_duration_seconds',
      help: 'Duration of database operations, by operation.',
      labelNames: ['operation'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1],
      registers: [registry],
      enableExemplars: exemplars,
    }),
    redisFailures: new Counter({
      name: 'redis_failures_total',
      help: 'Redis commands that failed or timed out, by operation (rate_limit_sync: limits fail open; dpop_replay: the request gets 503).',
      labelNames: ['operation'],
      registers: [registry],
    }),
  };
}
