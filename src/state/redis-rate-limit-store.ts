import { hash } from 'node:crypto';
import type { RedisConnection } from './redis-connection.js';
import type { HitCounter, RateLimitStore, WindowCount } from './rate-limit-store.js';

/** A key's count in one window, as this replica knows it. */
interface SyncedCount extends WindowCount {
  /** Start of the window (a multiple of its length since the epoch, so every replica has the same windows). */
  readonly windowStart: number;
  /** The key's name in Redis, without the prefix (made once per key, carried from window to window). */
  readonly id: string;
  /** Hits counted here and not yet sent. */
  unsent: number;
  /** Hits in the batch on its way to Redis. */
  sending: number;
}

interface SyncedCounter extends HitCounter {
  readonly name: string;
  readonly windowMs: number;
  readonly counts: Map<string, SyncedCount>;
}

export interface RedisRateLimitOptions {
  /** How often the hits counted here are sent and the global totals taken back. */
  syncIntervalMs: number;
  /** Most keys one limit remembers within a window; past it, the oldest key is forgotten. */
  maxKeys?: number;
}

/** Windows' keys outlive their window by this much in Redis, for replicas whose clocks are slightly behind. */
const EXPIRY_MARGIN_MS = 5_000;

/**
 * Rate-limit counts shared by every replica through Redis, as Kong's `sync_rate` does it: each replica counts hits in
 * memory (so a decision never waits for Redis) and, every `syncIntervalMs`, sends each key's unsent hits with one
 * INCRBY (all keys in one pipeline) and takes back the global total. A decision is the global total at the last sync
 * plus the hits counted here since. Windows are fixed (multiples of their length since the epoch), so replicas count
 * into the same Redis key, which expires with its window.
 *
 * Accuracy: a replica learns of the others' hits within one interval (plus a round trip), so a key's admitted
 * requests exceed its limit by at most what the other replicas admit in that time. When Redis cannot be reached, the
 * unsent hits are kept for the next sync and each replica decides with what it knows: limits fail open to
 * per-process counting, never refusing a request because Redis is away.
 */
export function redisRateLimitStore(redis: RedisConnection, options: RedisRateLimitOptions): RateLimitStore {
  const maxKeys = options.maxKeys ?? 100_000;
  const counters: SyncedCounter[] = [];
  let syncing: Promise<void> | undefined;

  const sync = async (): Promise<void> => {
    const now = Date.now();
    const batch: Array<{ count: SyncedCount; key: string; expireAt: number }> = [];
    for (const counter of counters) {
      for (const [key, count] of counter.counts) {
        const windowEnd = count.windowStart + counter.windowMs;
        if (windowEnd <= now) {
          // A past window's hits no longer decide anything.
          if (count.sending === 0) counter.counts.delete(key);
          continue;
        }
        if (count.unsent === 0 || count.sending !== 0) continue;
        count.sending = count.unsent;
        count.unsent = 0;
        batch.push({ count, key: `rl:${counter.name}:${counter.windowMs}:${count.windowStart}:${count.id}`, expireAt: windowEnd + EXPIRY_MARGIN_MS });
      }
    }
    if (batch.length === 0) return;
    const pipeline = redis.client.pipeline();
    for (const { count, key, expireAt } of batch) pipeline.incrby(key, count.sending).pexpireat(key, expireAt);
    let results: Array<[Error | null, unknown]> | null;
    try {
      results = await pipeline.exec();
    } catch (error) {
      results = null;
      redis.failed('rate_limit_sync', error);
    }
    let failure: unknown;
    batch.forEach(({ count }, i) => {
      const [error, total] = results?.[2 * i] ?? [new Error('no reply'), undefined];
      if (error === null && typeof total === 'number') {
        // Redis's total counts the hits just sent; those counted here since are added again.
        count.totalHits = total + count.unsent;
      } else {
        failure ??= error;
        count.unsent += count.sending;
      }
      count.sending = 0;
    });
    if (results === null) return;
    if (failure === undefined) redis.succeeded();
    else redis.failed('rate_limit_sync', failure);
  };

  const timer = setInterval(() => {
    syncing ??= sync().finally(() => (syncing = undefined));
  }, options.syncIntervalMs);
  timer.unref();

  return {
    counter(name, windowMs) {
      const counts = new Map<string, SyncedCount>();
      const counter: SyncedCounter = {
        name,
        windowMs,
        counts,
        hit(key, now) {
          const windowStart = now - (now % windowMs);
          let count = counts.get(key);
          if (count === undefined || count.windowStart !== windowStart) {
            if (count === undefined && counts.size >= maxKeys) counts.delete(counts.keys().next().value!);
            count = {
              windowStart,
              resetTime: new Date(windowStart + windowMs),
              id: count?.id ?? hash('sha256', key, 'base64url').slice(0, 22),
              totalHits: 0,
              unsent: 0,
              sending: 0,
            };
            counts.set(key, count);
          }
          count.unsent += 1;
          count.totalHits += 1;
          return count;
        },
      };
      counters.push(counter);
      return counter;
    },
    async close() {
      clearInterval(timer);
      await syncing;
      // What was counted since the last sync still counts for the other replicas.
      await sync();
    },
  };
}
