import { Redis } from 'ioredis';
import { readyWithin, type ReadinessCheck } from '../readiness.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/** What the state kept in Redis did with Redis, for the outage log and the failure metric. */
export type RedisOperation = 'rate_limit_sync' | 'dpop_replay' | 'introspection_cache';

export interface RedisConnectionOptions {
  /** `redis://` or `rediss://` (TLS) URL; its credentials never leave this module. */
  url: string;
  /** Put before every key (ioredis `keyPrefix`). */
  keyPrefix: string;
  /** Connect timeout and command timeout, in milliseconds. */
  timeoutMs: number;
  logger: Logger;
  metrics: Metrics;
}

/** One Redis client per process, with the outage bookkeeping its users share. */
export interface RedisConnection {
  readonly client: Redis;
  /** Where Redis is, without credentials (`127.0.0.1:6379`), for log lines. */
  readonly address: string;
  /** Records a failed command: counted every time, logged once per outage. */
  failed(operation: RedisOperation, error: unknown): void;
  /** Records a successful command: the first after an outage logs its end. */
  succeeded(): void;
  /** Settles once the first connection is ready, or failed, or after the connect timeout; never rejects. */
  connecting: Promise<void>;
  /** `/readyz`'s `redis` check: a PING answered within the timeout. */
  readonly readiness: ReadinessCheck;
  close(): Promise<void>;
}

/** Longest wait between two reconnection attempts while Redis is away. */
const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * Connects to Redis so that nothing waits for it longer than `timeoutMs`: no offline queue (a command while
 * disconnected fails at once instead of piling up), a command timeout, no retries of a command cut by a lost
 * connection, and reconnection in the background with exponential backoff (50 ms doubling, up to 2 s, with jitter).
 */
export function connectRedis(options: RedisConnectionOptions): RedisConnection {
  const { logger, metrics, timeoutMs } = options;
  const url = new URL(options.url);
  const address = `${url.hostname}:${url.port || '6379'}`;
  const client = new Redis(options.url, {
    keyPrefix: options.keyPrefix,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), MAX_RECONNECT_DELAY_MS) + Math.floor(Math.random() * 50),
    connectionName: 'notes-api',
  });

  let up = true;
  let outageStarted = 0;
  const failed = (operation: RedisOperation | 'connection', error: unknown): void => {
    if (operation !== 'connection') metrics.redisFailures.inc({ operation });
    if (!up) return;
    up = false;
    outageStarted = Date.now();
    // The error's message only: ioredis's errors name the address, never the URL's credentials.
    logger.warn(
      { redis: address, operation, err: { message: errorMessage(error) } },
      'Redis unreachable: rate limits count per process (fail open), DPoP requests are refused with 503 (fail closed) until it is back',
    );
  };
  const succeeded = (): void => {
    if (up) return;
    up = true;
    logger.info({ redis: address, outage_ms: Date.now() - outageStarted }, 'Redis reachable again: rate limits and DPoP replay checks are shared again');
  };
  // Without a listener, ioredis prints every failed reconnection to the console.
  client.on('error', (error: unknown) => failed('connection', error));
  client.on('ready', succeeded);
  client.once('ready', () => logger.info({ redis: address }, 'Redis connected: rate limits and DPoP proof ids are shared with every replica using it'));

  const connecting = new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      client.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    client.once('ready', done);
    client.once('error', done);
  });

  return {
    client,
    address,
    failed,
    succeeded,
    connecting,
    readiness: {
      name: 'redis',
      ready: readyWithin(timeoutMs, async () => (await client.ping()) === 'PONG'),
    },
    async close() {
      client.removeAllListeners('ready');
      // QUIT lets pending replies arrive; when Redis is away there is nothing to wait for.
      if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
      else client.disconnect();
    },
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
