import { memoryProofIdStore, type ProofIdStore } from '../auth/proof-id-store.js';
import type { Config } from '../config.js';
import type { ReadinessCheck } from '../readiness.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { memoryRateLimitStore, type RateLimitStore } from '../rate-limit/rate-limit-store.js';
import { connectRedis } from './redis-connection.js';
import { redisProofIdStore } from './redis-proof-id-store.js';
import { redisRateLimitStore } from './redis-rate-limit-store.js';
import type { IntrospectionCache } from '../auth/introspection/index.js';
import { redisIntrospectionCache } from './redis-introspection-cache.js';

/**
 * The state replicas would share, as they decide what a client may do: rate-limit counts, DPoP proof ids and
 * introspection answers. Shared through Redis when `REDIS_URL` is set; otherwise each process keeps its own.
 */
export interface ShareableState {
  readonly rateLimits: RateLimitStore;
  readonly proofIds: ProofIdStore;
  /** Introspection answers shared by the replicas (with Redis); undefined: each process keeps its own. */
  readonly introspections?: IntrospectionCache | undefined;
  /** `/readyz`'s checks of what the state lives in: `redis`, or none in this process. */
  readonly readiness: readonly ReadinessCheck[];
  /** Settles when the state can be used (Redis's first connection made or given up on); never rejects. */
  readonly connecting: Promise<void>;
  /** Sends the last rate-limit counts and closes the Redis connection (at shutdown). */
  close(): Promise<void>;
}

/**
 * Opens the shareable state, choosing once where it lives: in Redis when `REDIS_URL` is set (shared by every replica),
 * else in this process (memoryRateLimitStore, memoryProofIdStore: the defaults beside the limits and the DPoP check).
 */
export function openShareableState(config: Config, deps: { logger: Logger; metrics: Metrics }): ShareableState {
  if (config.REDIS_URL === undefined) {
    return {
      rateLimits: memoryRateLimitStore(),
      proofIds: memoryProofIdStore(config.DPOP_REPLAY_CACHE_SIZE),
      readiness: [],
      connecting: Promise.resolve(),
      close: async () => {},
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
    readiness: [{ ...redis.readiness, essential: config.DPOP === 'required' }],
    connecting: redis.connecting,
    async close() {
      await rateLimits.close();
      await redis.close();
    },
  };
}
