import { put, touch } from '../verified-token-cache.js';
import type { IntrospectionClaims } from './introspected-token.js';

/** One introspection answer as it is kept: the active token's claims (`null`: inactive), and until when it may be reused. */
export interface CachedIntrospection {
  readonly claims: IntrospectionClaims | null;
  /** Epoch milliseconds; never past the token's `exp`, nor `INTROSPECTION_CACHE_SECONDS` after the answer. */
  readonly expiresAtMs: number;
}

/**
 * Where introspection answers are kept, keyed by a hash of the token (never the token itself): this process's memory
 * (the default, `memoryIntrospectionCache`) or Redis, shared by every replica (`state/redis-introspection-cache.ts`).
 * A cache never decides: a failing one is a miss, and the token is introspected.
 */
export interface IntrospectionCache {
  get(key: string): Promise<CachedIntrospection | undefined>;
  /** Keeps `entry` until its `expiresAtMs`. */
  set(key: string, entry: CachedIntrospection): Promise<void>;
}

/** The in-process cache, which also answers at once (`peek`): a hit costs no promise. */
export interface MemoryIntrospectionCache extends IntrospectionCache {
  /** The entry for `key` when it is held and not expired. */
  peek(key: string, now?: number): CachedIntrospection | undefined;
  /** How many answers are held. */
  readonly size: number;
}

/**
 * Answers in this process's memory, at most `maxEntries` of them: the least recently used go first, so many distinct
 * tokens (or a flood of made-up ones) cannot grow memory past the bound.
 */
export function memoryIntrospectionCache(maxEntries: number): MemoryIntrospectionCache {
  const entries = new Map<string, CachedIntrospection>();
  const peek = (key: string, now = Date.now()): CachedIntrospection | undefined => touch(entries, key, now);
  return {
    peek,
    get size() {
      return entries.size;
    },
    get: async (key) => peek(key),
    async set(key, entry) {
      put(entries, maxEntries, key, entry);
    },
  };
}
