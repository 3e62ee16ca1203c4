import { MemoryStore, type Options } from 'express-rate-limit';

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

/** Where rate-limit counts live: in this process (the default) or shared by every replica (Redis). */
export interface RateLimitStore {
  /** A counter for one limit (`name`, e.g. `user`), in windows of `windowMs`. */
  counter(name: string, windowMs: number): HitCounter;
  /** Stops whatever the store runs in the background. */
  close(): Promise<void>;
}

/**
 * express-rate-limit's MemoryStore (two maps of counts, the older dropped every window, so memory stays bounded),
 * counted synchronously: the store's own methods return promises. `hit` does what the store's `increment` does, on
 * the store's public maps.
 */
class CountingStore extends MemoryStore implements HitCounter {
  hit(key: string, now: number): WindowCount {
    let client = this.current.get(key);
    if (client === undefined) {
      client = this.previous.get(key) ?? { totalHits: 0, resetTime: new Date(now + this.windowMs) };
      this.previous.delete(key);
      this.current.set(key, client);
    }
    if (client.resetTime.getTime() <= now) {
      client.totalHits = 0;
      client.resetTime = new Date(now + this.windowMs);
    }
    client.totalHits += 1;
    return client;
  }
}

/** Counts in this process only: with N replicas, a client gets up to N times each budget. */
export function memoryRateLimitStore(): RateLimitStore {
  const stores: CountingStore[] = [];
  return {
    counter(_name, windowMs) {
      const store = new CountingStore();
      store.init({ windowMs } as Options);
      stores.push(store);
      return store;
    },
    async close() {
      for (const store of stores) store.shutdown();
    },
  };
}
