import type { CachedIntrospection, IntrospectionCache } from '../auth/introspection/index.js';
import type { RedisConnection } from './redis-connection.js';

/**
 * Introspection answers shared by every replica: `SET introspection:<token hash> <answer> PX <until it expires>`, so a
 * token is introspected once per window across all of them, and an answer is gone everywhere when its time ends (a
 * revoked token is then refused by every replica). Only the hash of the token is stored. Redis failing is a cache miss
 * (the replica asks the issuer itself), counted as `redis_failures_total{operation="introspection_cache"}`.
 */
export function redisIntrospectionCache(redis: RedisConnection): IntrospectionCache {
  const keyOf = (key: string) => `introspection:${key}`;
  return {
    async get(key) {
      let stored: string | null;
      try {
        stored = await redis.client.get(keyOf(key));
      } catch (error) {
        redis.failed('introspection_cache', error);
        return undefined;
      }
      redis.succeeded();
      return stored === null ? undefined : parse(stored);
    },
    async set(key, entry) {
      const lifetimeMs = Math.floor(entry.expiresAtMs - Date.now());
      if (lifetimeMs <= 0) return;
      try {
        await redis.client.set(keyOf(key), JSON.stringify(entry), 'PX', lifetimeMs);
      } catch (error) {
        redis.failed('introspection_cache', error);
        return;
      }
      redis.succeeded();
    },
  };
}

/** A stored answer, or undefined when it is not one (another writer's value): then the token is introspected. */
function parse(stored: string): CachedIntrospection | undefined {
  try {
    const entry = JSON.parse(stored) as { claims?: unknown; expiresAtMs?: unknown };
    const claims = entry.claims;
    if (typeof entry.expiresAtMs !== 'number') return undefined;
    if (claims !== null && (typeof claims !== 'object' || (claims as { active?: unknown }).active !== true)) return undefined;
    return entry as CachedIntrospection;
  } catch {
    return undefined;
  }
}
