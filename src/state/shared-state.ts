import type { Config } from '../config.js';
import type { ReadinessCheck } from '../health/readiness.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { MemoryProofIdStore, type ProofIdStore } from './proof-id-store.js';
import { memoryRateLimitStore, type RateLimitStore } from './rate-limit-store.js';
import { connectRedis } from './redis-connection.js';
import { redisProofIdStore } from './redis-proof-id-store.js';
import { redisRateLimitStore } from './redis-rate-limit-store.js';
import type { IntrospectionCache } from '../auth/introspection/index.js';
import { redisIntrospectionCache } from './redis-introspection-cache.js';

/** The state a replica would otherwise keep to itself: rate-limit counts and DPoP proof ids. */
export interface SharedState {
  readonly rateLimits: RateLimitStore;
  readonly proofIds: ProofIdStore;
  /** Introspection answers shared by the replicas (with Redis); undefined: each process keeps its own. */
  readonly introspections?: IntrospectionCache | undefined;
  /** Readiness checks of what the state lives in (`redis`), for `/readyz`. */
  readonly checks: readonly ReadinessCheck[];
  /** Settles when the state can be used (Redis's first connection made or given up on); never rejects. */
  readonly connecting: Promise<void>;
  close(): Promise<void>;
}

/**
 * Chooses, once, where the state lives: in Redis when `REDIS_URL` is set (shared by every replica), else in this
 * process.
 */
export function openSharedState(config: Config, deps: { logger: Logger; metrics: Metrics }): SharedState {
  if (config.REDIS_URL === undefined) {
    const rateLimits = memoryRateLimitStore();
    return {
      rateLimits,
      proofIds: new MemoryProofIdStore(config.DPOP_REPLAY_CACHE_SIZE),
      checks: [],
      connecting: Promise.resolve(),
      close: () => rateLimits.close(),
    };
  }
  const redis = connectRedis({
    url: config.REDIS_URL,
    keyPrefix: config.REDIS_KEY_PREFIX,
    timeoutMs: config.REDIS_TIMEOUT_MS,
    ...deps,
  });
  const rateLimits = redisRateLimitStore(redis, { syncIntervalMs: config.RATE_LIMIT_SYNC_INTERVAL_MS });
  return {
    rateLimits,
    proofIds: redisProofIdStore(redis),
    introspections: redisIntrospectionCache(redis),
    // Without Redis only DPoP requests are refused (503): bearer requests are served, so the replica stays in the load
    // balancer, degraded, unless every request must be a DPoP request.
    checks: [{ ...redis.check, essential: config.DPOP === 'required' }],
    connecting: redis.connecting,
    async close() {
      await rateLimits.close();
      await redis.close();
    },
  };
}
