/** What a key has counted in its current window. */
export interface WindowCount {
  /** Hits in the window, this one included. */
  totalHits: number;
  /** When the window ends. */
  resetTime: Date;
}

/**
 * Counts hits per key, synchronously: `hit` is on the path of every counted request, and awaiting a promise there
 * would move the rest of each request to a microtask (measured: see docs/performance.md).
 */
export interface HitCounter {
  hit(key: string, now: number): WindowCount;
}

/**
 * Where rate-limit counts live: in this process (memoryRateLimitStore, the default) or shared by every replica
 * (state/redis-rate-limit-store.ts, with `REDIS_URL`).
 */
export interface RateLimitStore {
  /** A counter for one limit (`name`, e.g. `user`), in windows of `windowMs`. */
  counter(name: string, windowMs: number): HitCounter;
  /** Stops whatever the store runs in the background. */
  close(): Promise<void>;
}

/**
 * Counts in this process only: with N replicas, a client gets up to N times each budget. Each key's window starts
 * with its first hit (as express-rate-limit's MemoryStore counts).
 */
export function memoryRateLimitStore(): RateLimitStore {
  return {
    counter: (_name, windowMs) => memoryHitCounter(windowMs),
    async close() {},
  };
}

/**
 * Two generations of counts, as express-rate-limit's MemoryStore keeps them: a key hit in this generation is in
 * `current`; one last hit in the previous generation is in `previous` and moves to `current` when hit again. A new
 * generation starts once a window has passed, and the previous one is dropped with everything in it: a key not hit
 * for a whole window has a count whose window is over. So memory holds only the keys of about the last two windows,
 * with no key-by-key sweep. The generation changes at the first hit after its time (no timer to stop).
 */
function memoryHitCounter(windowMs: number): HitCounter {
  let current = new Map<string, WindowCount>();
  let previous = new Map<string, WindowCount>();
  let nextGenerationAt = Date.now() + windowMs;
  return {
    hit(key, now) {
      if (now >= nextGenerationAt) {
        // After two windows without a hit, what `current` holds is over as well.
        previous = now >= nextGenerationAt + windowMs ? new Map() : current;
        current = new Map();
        nextGenerationAt = now + windowMs;
      }
      let count = current.get(key);
      if (count === undefined) {
        count = previous.get(key) ?? { totalHits: 0, resetTime: new Date(now + windowMs) };
        previous.delete(key);
        current.set(key, count);
      }
      if (count.resetTime.getTime() <= now) {
        count.totalHits = 0;
        count.resetTime = new Date(now + windowMs);
      }
      count.totalHits += 1;
      return count;
    },
  };
}
