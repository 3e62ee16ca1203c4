/**
 * `npm test`'s first step, `scripts/preflight.ts`, run as npm runs it (a process of its own, through tsx): what a
 * newcomer sees when PostgreSQL, Redis or a browser is missing, and that it says nothing when all are there.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { describe, expect, it, jest } from '@jest/globals';
import { freePort } from '../support/ports.js';

// Each run starts tsx, which on two busy cores takes seconds.
jest.setTimeout(60_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function preflight(env: Record<string, string> = {}): Promise<Run> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/preflight.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
  });
}

/** A listener that accepts connections and never says a word: a service that hangs. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The block's entry for the service whose line starts with `heading`: that line and its three recipes. */
function entry(output: string, heading: string): string[] {
  const lines = output.split('\n');
  const at = lines.findIndex((line) => line.startsWith(heading));
  expect(at).toBeGreaterThanOrEqual(0);
  return lines.slice(at, at + 4);
}

describe('npm test\'s preflight', () => {
  it('when PostgreSQL, Redis, their binaries and a browser are all there (this machine), then it prints nothing and exits 0', async () => {
    const run = await preflight();
    expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('when nothing listens at TEST_DATABASE_URL and TEST_REDIS_URL, then one block lists both, each with the Debian/Ubuntu, Homebrew and Docker commands, and it exits 1', async () => {
    const [postgresPort, redisPort] = [await freePort(), await freePort()];
    const run = await preflight({
      TEST_DATABASE_URL: `postgres://postgres:secret@127.0.0.1:${postgresPort}/test`,
      TEST_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n')[0]).toBe('npm test stopped before any suite: the tests need services this machine does not offer.');

    const postgres = entry(run.stderr, 'PostgreSQL at ');
    expect(postgres[0]).toBe(`PostgreSQL at postgres://postgres:***@127.0.0.1:${postgresPort}/test (TEST_DATABASE_URL): connect ECONNREFUSED 127.0.0.1:${postgresPort}`);
    expect(postgres[1]).toMatch(/^ {2}Debian\/Ubuntu: +sudo apt-get install -y postgresql /);
    expect(postgres[2]).toMatch(/^ {2}macOS \(Homebrew\): +brew install postgresql@16 /);
    expect(postgres[3]).toMatch(/^ {2}Docker: +docker run -d --name notes-test-postgres -p 127\.0\.0\.1:5432:5432 .*postgres:16$/);

    const redis = entry(run.stderr, 'Redis at ');
    expect(redis[0]).toBe(`Redis at 127.0.0.1:${redisPort} (TEST_REDIS_URL): no answer to PING within 2 s`);
    expect(redis[1]).toMatch(/^ {2}Debian\/Ubuntu: +sudo apt-get install -y redis-server /);
    expect(redis[2]).toMatch(/^ {2}macOS \(Homebrew\): +brew install redis /);
    expect(redis[3]).toMatch(/^ {2}Docker: +docker run -d --name notes-test-redis .*redis:7$/);

    // What is there is not listed; the password never is.
    expect(run.stderr).not.toMatch(/Chromium|initdb|redis-server on|secret/);
    expect(run.stderr.trimEnd().split('\n').at(-1)).toMatch(/^Or set TEST_DATABASE_URL, TEST_REDIS_URL to what works; then npm test again\./);
  });

  it('when PostgreSQL and Redis accept connections and never answer, then each probe gives up within its bound and both are listed', async () => {
    const [postgres, redis] = [await silentServer(), await silentServer()];
    try {
      const run = await preflight({ TEST_DATABASE_URL: `postgres://postgres@127.0.0.1:${postgres.port}/test`, TEST_REDIS_URL: `redis://127.0.0.1:${redis.port}` });
      expect(run.code).toBe(1);
      expect(entry(run.stderr, 'PostgreSQL at ')[0]).toMatch(/\(TEST_DATABASE_URL\): .*timeout/i);
      expect(entry(run.stderr, 'Redis at ')[0]).toBe(`Redis at 127.0.0.1:${redis.port} (TEST_REDIS_URL): no answer to PING within 2 s`);
      // The two-second probes run side by side: never the suites' five-second connect, never a hang.
      expect(run.seconds).toBeLessThan(30);
    } finally {
      await Promise.all([postgres.close(), redis.close()]);
    }
  });

  it('when CHROMIUM_PATH and PG_BIN name nothing, then the browser and the PostgreSQL binaries are listed, each with its commands', async () => {
    const run = await preflight({ CHROMIUM_PATH: '/nonexistent/chromium', PG_BIN: '/nonexistent/bin' });
    expect(run.code).toBe(1);
    const chromium = entry(run.stderr, 'Chromium or Chrome');
    expect(chromium[0]).toBe('Chromium or Chrome (CHROMIUM_PATH): CHROMIUM_PATH=/nonexistent/chromium is not an executable file');
    expect(chromium[1]).toMatch(/^ {2}Debian\/Ubuntu: +sudo sh -c 'apt-get update && apt-get install -y chromium'/);
    expect(chromium[2]).toMatch(/^ {2}macOS \(Homebrew\): +brew install --cask google-chrome$/);
    expect(chromium[3]).toMatch(/^ {2}Docker: +run the tests in one .*docker run --rm --network host/);
    expect(entry(run.stderr, "PostgreSQL's initdb and pg_ctl")[0]).toContain('not in PG_BIN=/nonexistent/bin');
    expect(run.stderr).not.toMatch(/^(PostgreSQL|Redis) at /m);
  });
});
