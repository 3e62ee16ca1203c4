/**
 * `npm run bench:tracing`: where tracing's cost to `GET /v1/me` is (issue 24). Starts the bench issuer, an OTLP/HTTP
 * sink on 127.0.0.1 (it reads and discards what it gets, as a collector's receiver would), and our API from dist/ in
 * the bench's production configuration, four ways: tracing off (no OTLP endpoint: the SDK is not loaded), on with
 * none sampled (what tracing costs a request before any span is recorded), on with `parentbased_traceidratio` at
 * 0.1, and on with every request sampled.
 *
 * The four run **side by side**: in each of BENCH_ROUNDS rounds of BENCH_SECONDS (defaults 6 × 5 s, after
 * BENCH_WARMUP_SECONDS), each server gets its own autocannon (5 connections) at the same time, so a slow spell of the
 * shared machine hits all of them at once. What it prints is each server's event-loop CPU per request (median over
 * rounds) and its ratio to tracing off's in the same round: req/s is not comparable this way, since the servers share
 * the cores. `npm run bench` judges the targets on req/s, one server at a time (docs/benchmarks.md);
 * docs/performance.md has what this one found.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { BenchTokens } from './issuer.js';
import { BENCH_INTROSPECTION_CLIENT } from './servers/common.js';
import { eventLoopCpuMicros, killAllNow, spawnChild, stopAll } from './procs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const AUDIENCE = 'https://notes.bench.test/api';
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 6);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-bench-tracing-'));

const VARIANTS = [
  { id: 'off', label: 'tracing off (no endpoint)', env: {} },
  { id: 'never', label: 'on, never sampled', env: { OTEL_TRACES_SAMPLER: 'parentbased_always_off' } },
  { id: 'ratio', label: 'on, parentbased_traceidratio 0.1', env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' } },
  { id: 'all', label: 'on, every request sampled', env: { OTEL_TRACES_SAMPLER: 'parentbased_always_on' } },
] as const;

process.on('exit', killAllNow);
setTimeout(() => {
  console.error('bench:tracing: watchdog');
  process.exit(1);
}, (120 + warmupSeconds + 2 + rounds * (seconds + 2)) * 1000).unref();

/** The OTLP receiver: counts what it is sent and answers as a collector does. */
async function startSink(): Promise<{ url: string; bytes: () => number; close: () => void }> {
  let bytes = 0;
  const server = http.createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bytes: () => bytes, close: () => server.close() };
}

/** One autocannon run; the server's event-loop CPU per request over it. */
async function load(server: { url: string; pid: number }, token: string, duration: number): Promise<number> {
  const before = eventLoopCpuMicros(server.pid);
  const result = await autocannon({ url: `${server.url}/v1/me`, connections: 5, duration, headers: { authorization: `Bearer ${token}` } });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${server.url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return (eventLoopCpuMicros(server.pid) - before) / result.requests.total;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit', timeout: 300_000 });
  if (build.status !== 0) throw new Error('npm run build failed');
  const sink = await startSink();
  const issuer = await spawnChild({
    name: 'issuer',
    command: process.execPath,
    args: ['--import', 'tsx', path.join(ROOT, 'bench', 'issuer.ts')],
    env: { PATH: process.env.PATH, AUDIENCE },
    cwd: ROOT,
    logDir: tmp,
    ready: /"issuer":"([^"]+)"/,
    timeoutMs: 30_000,
  });
  const tokens = (await (await fetch(`${issuer.ready}_bench/tokens`)).json()) as BenchTokens;
  const servers = [];
  for (const variant of VARIANTS) {
    const { ready, child } = await spawnChild({
      name: `api-${variant.id}`,
      command: process.execPath,
      args: [path.join(ROOT, 'dist', 'src', 'main.js')],
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
        ISSUER_BASE_URL: issuer.ready,
        AUDIENCE,
        DATABASE_URL: path.join(tmp, `${variant.id}.db`),
        PORT: '0',
        HOST: '127.0.0.1',
        // As `npm run bench` runs our API (its apiEnv).
        METRICS_ENABLED: 'true',
        METRICS_PORT: '0',
        RATE_LIMIT_PER_USER: '100000000',
        RATE_LIMIT_PER_IP: '100000000',
        ACCESS_TOKEN_FORMAT: 'both',
        INTROSPECTION_CLIENT_ID: BENCH_INTROSPECTION_CLIENT.id,
        INTROSPECTION_CLIENT_SECRET: BENCH_INTROSPECTION_CLIENT.secret,
        ...(variant.id === 'off' ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url }),
        ...variant.env,
      },
      cwd: tmp,
      logDir: tmp,
      ready: /listening on (http:\/\/127\.0\.0\.1:\d+)/,
      timeoutMs: 30_000,
    });
    servers.push({ variant, url: ready, pid: child.pid, cpu: [] as number[] });
  }
  if (warmupSeconds > 0) await Promise.all(servers.map((server) => load(server, tokens.one, warmupSeconds)));
  for (let round = 0; round < rounds; round++) {
    const cpu = await Promise.all(servers.map((server) => load(server, tokens.one, seconds)));
    servers.forEach((server, i) => server.cpu.push(cpu[i]!));
  }
  const off = servers[0]!;
  console.log(`\n| /v1/me, side by side, ${rounds} rounds × ${seconds} s, 5 connections each | event-loop CPU µs/req (median) | per round | × tracing off by CPU (same round, median) |`);
  console.log('| --- | ---: | --- | ---: |');
  for (const server of servers) {
    const ratio = median(server.cpu.map((value, round) => off.cpu[round]! / value));
    console.log(`| ${server.variant.label} | ${median(server.cpu).toFixed(1)} | ${server.cpu.map((value) => value.toFixed(0)).join(' / ')} | ${ratio.toFixed(3)} |`);
  }
  console.log(`\nOTLP bytes received: ${sink.bytes()}; logs in ${tmp}`);
  await stopAll();
  sink.close();
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    console.error(`bench:tracing: ${(error as Error).stack ?? String(error)}`);
    await stopAll();
    process.exit(1);
  },
);
