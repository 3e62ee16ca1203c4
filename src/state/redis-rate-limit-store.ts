import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisConnection } from './redis-connection.js';
import type { HitCounter, RateLimitStore, WindowCount } from '../rate-limit/rate-limit-store.js';

/** A key's count in one window, as this replica knows it. */
interface SyncedCount extends WindowCount {
  /** Start of the window (a multiple of its length since the epoch, so every replica has the same windows). */
  readonly windowStart: number;
  /** The window's key in Redis, without the prefix. */
  readonly redisKey: string;
  /** When Redis may forget the key. */
  readonly expireAt: number;
  /** The client key's hash, carried from window to window (made once per client key). */
  readonly id: string;
  /** Hits counted here and not yet sent. */
  unsent: number;
  /** Hits in the batch on its way to Redis. */
  sending: number;
}

interface SyncedCounter extends HitCounter {
  readonly windowMs: number;
  readonly counts: Map<string, SyncedCount>;
}

export interface RedisRateLimitOptions {
  /** How often the hits counted here are sent and the global totals taken back. */
  syncIntervalMs: number;
  /** Most keys one limit remembers within a window; past it, the oldest key is forgotten. */
  maxKeys?: number;
}

/**
 * Adds each replica's unsent hits to its window's key and returns the totals, for a batch of keys in one call (one
 * command per interval instead of two per key: the client's cost of a sync is per command). The replica that creates
 * a key sets its expiry. KEYS: the window keys; ARGV: hits and expiry time (ms since the epoch) for each key in turn.
 */
const ADD_HITS = `local totals = {}
for i, key in ipairs(KEYS) do
  local hits = tonumber(ARGV[2 * i - 1])
  local total = redis.call('INCRBY', key, hits)
  if total == hits then redis.call('PEXPIREAT', key, ARGV[2 * i]) end
  totals[i] = total
end
return totals`;

/** Keys per script call: a call holds Redis for its duration, so a long batch is cut into several (one pipeline). */
const KEYS_PER_CALL = 500;

/** What Redis answered for one count of a batch: the key's total across replicas, or why there is none. */
type Reply = { readonly total: number } | { readonly error: unknown };

/** Windows' keys outlive their window by this much in Redis, for replicas whose clocks are slightly behind. */
const EXPIRY_MARGIN_MS = 5_000;

/**
 * Rate-limit counts shared by every replica through Redis, as Kong's `sync_rate` does it: each replica counts hits in
 * memory (so a decision never waits for Redis) and, every `syncIntervalMs`, sends each key's unsent hits with
 * INCRBY (all keys in one pipeline of scripts, ADD_HITS) and takes back the global total. A decision is the global total at the last sync
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

  // The counts with hits to send: a count joins when its first unsent hit is counted, so a sync never scans keys
  // that have nothing to send.
  let dirty: SyncedCount[] = [];
  let sweptAt = Date.now();

  /** Forgets the counts of windows that are over (they decide nothing any longer), at most once a second. */
  const sweep = (now: number): void => {
    if (now - sweptAt < 1000) return;
    sweptAt = now;
    for (const { counts, windowMs } of counters) {
      for (const [key, count] of counts) if (count.windowStart + windowMs <= now) counts.delete(key);
    }
  };

  /** Takes the counts with hits to send whose Redis key has not expired, their unsent hits becoming the batch's. */
  const takeBatch = (now: number): SyncedCount[] => {
    const batch = dirty.filter((count) => count.expireAt > now);
    dirty = [];
    for (const count of batch) {
      count.sending = count.unsent;
      count.unsent = 0;
    }
    return batch;
  };

  /** Takes Redis's answer for a count sent; hits counted while the batch was away (or a batch that failed) go with the next sync. */
  const settle = (count: SyncedCount, reply: Reply): void => {
    // Redis's total counts the hits just sent; those counted here since are added again.
    if ('total' in reply) count.totalHits = reply.total + count.unsent;
    else count.unsent += count.sending;
    count.sending = 0;
    if (count.unsent > 0) dirty.push(count);
  };

  const sync = async (): Promise<void> => {
    const now = Date.now();
    sweep(now);
    if (dirty.length === 0) return;
    if (redis.client.status !== 'ready') {
      // Nothing would be sent: the hits wait for the next sync, and the failure is counted without building a batch.
      redis.failed('rate_limit_sync', new Error(`Redis connection ${redis.client.status}`));
      dirty = dirty.filter((count) => count.expireAt > now);
      return;
    }
    const batch = takeBatch(now);
    if (batch.length === 0) return;
    let replies: ReadonlyArray<readonly [SyncedCount, Reply]>;
    try {
      replies = await addHits(redis.client, batch);
    } catch (error) {
      // The pipeline as a whole failed (connection lost, timeout): every count keeps its hits for the next sync.
      redis.failed('rate_limit_sync', error);
      for (const count of batch) settle(count, { error });
      return;
    }
    let failure: unknown;
    for (const [count, reply] of replies) {
      if ('error' in reply) failure ??= reply.error;
      settle(count, reply);
    }
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
        windowMs,
        counts,
        hit(key, now) {
          const windowStart = now - (now % windowMs);
          let count = counts.get(key);
          if (count === undefined || count.windowStart !== windowStart) {
            if (count === undefined && counts.size >= maxKeys) counts.delete(counts.keys().next().value!);
            const id = count?.id ?? hash('sha256', key, 'base64url').slice(0, 22);
            count = {
              windowStart,
              resetTime: new Date(windowStart + windowMs),
              redisKey: `rl:${name}:${windowMs}:${windowStart}:${id}`,
              expireAt: windowStart + windowMs + EXPIRY_MARGIN_MS,
              id,
              totalHits: 0,
              unsent: 0,
              sending: 0,
            };
            counts.set(key, count);
          }
          count.totalHits += 1;
          if (++count.unsent === 1 && count.sending === 0) dirty.push(count);
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

/**
 * Sends a batch's hits to Redis, one ADD_HITS call per chunk of at most KEYS_PER_CALL counts, all in one pipeline, and
 * pairs each count with what Redis answered for it. Rejects when the pipeline as a whole gets no answer.
 */
async function addHits(client: Redis, batch: readonly SyncedCount[]): Promise<Array<readonly [SyncedCount, Reply]>> {
  const chunks: SyncedCount[][] = [];
  for (let start = 0; start < batch.length; start += KEYS_PER_CALL) chunks.push(batch.slice(start, start + KEYS_PER_CALL));
  const pipeline = client.pipeline();
  for (const chunk of chunks) {
    pipeline.eval(ADD_HITS, chunk.length, ...chunk.map((count) => count.redisKey), ...chunk.flatMap((count) => [count.sending, count.expireAt]));
  }
  const replies = await pipeline.exec();
  if (replies === null) throw new Error('no reply to the rate-limit pipeline');
  // The pipeline answers its calls in order: the chunk made each call, and the call's totals follow the chunk's keys.
  return chunks.flatMap((chunk, call) => pairReplies(chunk, replies[call]));
}

/** Pairs the counts of one ADD_HITS call with its reply: a list of totals, one per key in the order they were sent. */
function pairReplies(chunk: readonly SyncedCount[], reply: [Error | null, unknown] | undefined): Array<readonly [SyncedCount, Reply]> {
  const [error, totals] = reply ?? [new Error('no reply'), undefined];
  return chunk.map((count, key) => {
    const total: unknown = error === null && Array.isArray(totals) ? totals[key] : undefined;
    return [count, typeof total === 'number' ? { total } : { error: error ?? new Error('unexpected reply') }] as const;
  });
}
