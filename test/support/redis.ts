import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { SEE_PREFLIGHT } from './service-recipes.js';
import { freePort } from './ports.js';

/** The Redis tests use: `TEST_REDIS_URL`, by default the one on 127.0.0.1:6379 every developer and CI machine runs. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';


/** Answers whether a Redis at `url` answers a PING within `timeoutMs`. */
export async function pingRedis(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, commandTimeout: timeoutMs, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
  // The connection's ready check and the PING are each bounded by ioredis; the whole, here.
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(resolve, timeoutMs, false)));
  try {
    return await Promise.race([client.connect().then(async () => (await client.ping()) === 'PONG'), late]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/** Why the tests cannot use the Redis at `url` (no PONG within `timeoutMs`), or `undefined` when they can. */
export async function testRedisProblem(url = TEST_REDIS_URL, timeoutMs = 1000): Promise<string | undefined> {
  if (await pingRedis(url, timeoutMs)) return undefined;
  return `Redis at ${new URL(url).host} (TEST_REDIS_URL): no answer to PING within ${timeoutMs / 1000} s`;
}

/** Why the tests cannot start a redis-server of their own (not on the PATH), or `undefined` when they can. */
export function redisServerBinaryProblem(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore', timeout: 2000 });
  return probe.error ? `redis-server (the Redis outage test starts one of its own): ${probe.error.message}` : undefined;
}

/**
 * The environment that points an API at the test Redis, with a key prefix of its own (`test:<name>:<uuid>:`), so
 * test files running in parallel never count into each other's keys. Fails, saying how to start Redis, when none
 * answers: a test that needs Redis is never skipped.
 */
export async function testRedisEnv(name: string, url = TEST_REDIS_URL): Promise<{ REDIS_URL: string; REDIS_KEY_PREFIX: string }> {
  const problem = await testRedisProblem(url);
  if (problem) throw new Error(`${problem}; ${SEE_PREFLIGHT}`);
  return { REDIS_URL: url, REDIS_KEY_PREFIX: `test:${name}:${randomUUID()}:` };
}

/** A redis-server of the test's own, on a free port, that the test may stop and start again. */
export interface PrivateRedis {
  readonly port: number;
  /** `redis://[:password@]127.0.0.1:PORT`. */
  readonly url: string;
  /** Kills the server (SIGKILL: an outage, not a shutdown) and waits for it to be gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is saved). */
  start(): Promise<void>;
}

/**
 * Starts `redis-server` (in memory only: `--save "" --appendonly no`) on a free port above 20000, optionally with a
 * password. Fails, saying how to install it, when the binary is missing.
 */
export async function startPrivateRedis(options: { password?: string } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(options.password ? ['--requirepass', options.password] : [])];
  const url = `redis://${options.password ? `:${encodeURIComponent(options.password)}@` : ''}127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const started = spawn('redis-server', args, { stdio: 'ignore' });
    child = started;
    const failed = new Promise<never>((_resolve, reject) => {
      started.once('error', (error) => reject(new Error(`Cannot start redis-server (${error.message}); ${SEE_PREFLIGHT}`)));
    });
    const deadline = Date.now() + 10_000;
    while (!(await Promise.race([pingRedis(url, 500), failed]))) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const kill = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return { port, url, kill, start };
}
