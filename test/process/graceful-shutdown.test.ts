import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';
import { waitForListening } from '../support/server-process.js';

let issuer: TestIssuer;
let folder: string;
beforeAll(async () => {
  issuer = await startTestIssuer();
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-shutdown-'));
});
afterAll(async () => {
  await issuer.close();
  fs.rmSync(folder, { recursive: true, force: true });
});

interface Server {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: () => string;
}

/** Starts the real server (src/main.ts) as a child process and waits for its "listening" line. */
async function startServerProcess(env: Record<string, string>, command: 'node' | 'npm start' = 'node', ownGroup = false): Promise<Server> {
  const [file, args] = command === 'node' ? [process.execPath, ['--import', 'tsx', 'src/main.ts']] : ['npm', ['start', '--silent']];
  const child = spawn(file, args, {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ISSUER_BASE_URL: issuer.url,
      AUDIENCE: issuer.audience,
      PORT: '0',
      METRICS_ENABLED: 'false',
      DATABASE_URL: path.join(folder, `${Date.now()}.db`),
      NODE_ENV: 'test',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // In a process group of its own, as a job a shell starts: a signal to the group reaches npm and the server.
    detached: ownGroup,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // `npm start` may compile to dist/ first.
  const url = await waitForListening(child, () => output, { name: 'server', timeoutMs: 60_000 });
  return { child, url, exited, output: () => output };
}

/** Opens POST /v1/notes and sends only the first half of its body: a request in flight. */
function holdSlowRequest(url: string, token: string) {
  const body = JSON.stringify({ title: 'written during shutdown', body: 'x'.repeat(2000) });
  const req = http.request(`${url}/v1/notes`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
  });
  req.write(body.slice(0, 1000));
  return { finish: () => req.end(body.slice(1000)), response };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const connectionRefused = (url: string) =>
  new Promise<boolean>((resolve) => {
    http.get(`${url}/healthz`, () => resolve(false)).on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });

describe('graceful shutdown of the real process', () => {
  it('when SIGTERM arrives during a request, then new connections are refused, the request completes, and the process exits 0', async () => {
    const server = await startServerProcess({});
    const slow = holdSlowRequest(server.url, await issuer.mint());
    await pause(500);
    server.child.kill('SIGTERM');
    await pause(300);
    expect(await connectionRefused(server.url)).toBe(true);
    slow.finish();
    const res = await slow.response;
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body).title).toBe('written during shutdown');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.output()).toMatch(/shutting down/);
  });

  it('when a request outlives SHUTDOWN_GRACE_SECONDS, then its connection is cut and the process still exits 0', async () => {
    const server = await startServerProcess({ SHUTDOWN_GRACE_SECONDS: '1' });
    const slow = holdSlowRequest(server.url, await issuer.mint());
    await pause(500);
    const started = Date.now();
    server.child.kill('SIGTERM');
    await expect(slow.response).rejects.toThrow();
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('when the server was started with npm start and npm gets SIGTERM, then the server finishes the request and both exit 0', async () => {
    const server = await startServerProcess({}, 'npm start');
    const slow = holdSlowRequest(server.url, await issuer.mint());
    await pause(500);
    server.child.kill('SIGTERM');
    await pause(300);
    slow.finish();
    expect((await slow.response).status).toBe(201);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.output()).toMatch(/"msg":"stopped"/);
  }, 90_000);

  it('when Ctrl-C signals npm start\'s whole process group (npm forwards it once more), then it is one signal: the request finishes, exit 0', async () => {
    const server = await startServerProcess({}, 'npm start', true);
    const slow = holdSlowRequest(server.url, await issuer.mint());
    await pause(500);
    process.kill(-server.child.pid!, 'SIGINT');
    await pause(300);
    slow.finish();
    expect((await slow.response).status).toBe(201);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.output()).toMatch(/"msg":"stopped"/);
    expect(server.output()).not.toMatch(/second signal/);
  }, 90_000);

  it('when a second signal arrives, then the process exits at once', async () => {
    const server = await startServerProcess({ SHUTDOWN_GRACE_SECONDS: '30' });
    const slow = holdSlowRequest(server.url, await issuer.mint());
    slow.response.catch(() => undefined);
    await pause(500);
    server.child.kill('SIGTERM');
    await pause(200);
    const started = Date.now();
    server.child.kill('SIGINT');
    const { code } = await server.exited;
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

/** One GET on `agent` (kept alive, or a new connection without one): status, Connection header, body, and its socket. */
function get(url: string, options: { agent?: http.Agent; token?: string } = {}) {
  return new Promise<{ status: number; connection: string | undefined; body: string; socket: Socket }>((resolve, reject) => {
    const req = http.get(url, { agent: options.agent ?? false, headers: options.token ? { authorization: `Bearer ${options.token}` } : {} }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body, socket: req.socket! }));
    });
    req.on('error', reject);
  });
}

describe('draining before stopping (SHUTDOWN_DRAIN_SECONDS)', () => {
  it('when SIGTERM arrives, then /readyz answers 503 draining at once, kept-alive and new connections are still served with Connection: close, idle ones are closed, a metric and the log count the requests, and the process stops accepting after the drain and exits 0 within drain + 1 s', async () => {
    const server = await startServerProcess({ SHUTDOWN_DRAIN_SECONDS: '2', METRICS_ENABLED: 'true', METRICS_PORT: '0' });
    const metricsUrl = /"url":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(server.output())![1]!;
    const token = await issuer.mint();
    const keptAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const idleAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await get(`${server.url}/v1/me`, { agent: keptAlive, token });
      expect({ status: before.status, connection: before.connection }).toEqual({ status: 200, connection: 'keep-alive' });
      const idle = await get(`${server.url}/healthz`, { agent: idleAgent });
      const idleClosed = new Promise<number>((resolve) => idle.socket.once('close', () => resolve(Date.now())));

      const signalled = Date.now();
      server.child.kill('SIGTERM');
      await pause(200);
      expect(await idleClosed).toBeLessThan(signalled + 1000);

      const readiness = await get(`${server.url}/readyz`);
      expect(readiness.status).toBe(503);
      expect(JSON.parse(readiness.body)).toEqual({ status: 'draining' });
      // The connection the client kept alive before the signal is served, and told to close.
      const onKeptAlive = await get(`${server.url}/v1/me`, { agent: keptAlive, token });
      expect({ status: onKeptAlive.status, connection: onKeptAlive.connection }).toEqual({ status: 200, connection: 'close' });
      // A new connection (a balancer that has not noticed yet) is still accepted and served.
      const onNew = await get(`${server.url}/v1/me`, { token });
      expect({ status: onNew.status, connection: onNew.connection }).toEqual({ status: 200, connection: 'close' });

      const scraped = await get(metricsUrl);
      expect(scraped.body).toMatch(/^shutdown_drain_requests_total 3$/m);
      const started = Number(/^shutdown_drain_started_seconds (\S+)$/m.exec(scraped.body)![1]);
      expect(Math.abs(started * 1000 - signalled)).toBeLessThan(1000);

      await pause(2500 - (Date.now() - signalled));
      expect(await connectionRefused(server.url)).toBe(true);
      const exit = await server.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalled).toBeLessThan(3000);
      expect(server.output()).toMatch(/"requests_while_draining":3,.*"msg":"stopped"/);
    } finally {
      keptAlive.destroy();
      idleAgent.destroy();
    }
  });
});
