/**
 * `npm run bench:tracing`: what tracing costs `GET /v1/me` (issue 24). Starts the bench issuer, an OTLP/HTTP sink on
 * 127.0.0.1 (it reads and discards what it gets, as a collector's receiver would), and our API from dist/ four ways:
 * tracing off (no OTLP endpoint: the SDK is not loaded), on with `parentbased_traceidratio` at 0.1, on with every
 * request sampled, and on with none sampled (what tracing costs a request before any span is recorded). It drives them with autocannon in alternating order over BENCH_ROUNDS rounds of BENCH_SECONDS
 * (defaults 7 × 3 s, after BENCH_WARMUP_SECONDS) and prints each one's median rate and its ratio to tracing off.
 *
 * Tracing off runs the code of before tracing plus one boolean test per span helper (no SDK, no exporter), so its
 * figure is "today's" rate; `npm run bench`'s own `/v1/me` runs give the same configuration's rate across releases.
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
import { killAllNow, spawnChild, stopAll } from './procs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const AUDIENCE = 'https://notes.bench.test/api';
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-bench-tracing-'));

const VARIANTS = [
  { id: 'off', label: 'tracing off (no endpoint)', env: {} },
  { id: 'ratio', label: 'on, parentbased_traceidratio 0.1', env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' } },
  { id: 'all', label: 'on, every request sampled', env: { OTEL_TRACES_SAMPLER: 'parentbased_always_on' } },
  { id: 'never', label: 'on, never sampled', env: { OTEL_TRACES_SAMPLER: 'parentbased_always_off' } },
] as const;

process.on('exit', killAllNow);
setTimeout(() => {
  console.error('bench:tracing: watchdog');
  process.exit(1);
}, (120 + VARIANTS.length * (warmupSeconds + 2 + rounds * (seconds + 2))) * 1000).unref();

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

async function rate(url: string, token: string, duration: number): Promise<number> {
  const result = await autocannon({ url: `${url}/v1/me`, connections: 10, duration, headers: { authorization: `Bearer ${token}` } });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
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
    const { ready } = await spawnChild({
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
        METRICS_ENABLED: 'false',
        RATE_LIMIT_PER_USER: '100000000',
        RATE_LIMIT_PER_IP: '100000000',
        ...(variant.id === 'off' ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url }),
        ...variant.env,
      },
      cwd: tmp,
      logDir: tmp,
      ready: /listening on (http:\/\/127\.0\.0\.1:\d+)/,
      timeoutMs: 30_000,
    });
    servers.push({ variant, url: ready, rates: [] as number[] });
  }
  for (const server of servers) if (warmupSeconds > 0) await rate(server.url, tokens.one, warmupSeconds);
  for (let round = 0; round < rounds; round++) {
    // Each round in another order, so a slow spell of the machine does not always hit the same variant.
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const server of order) server.rates.push(await rate(server.url, tokens.one, seconds));
  }
  const off = median(servers[0]!.rates);
  console.log(`\n| /v1/me, ${rounds} rounds × ${seconds} s, 10 connections | median req/s | × tracing off |\n| --- | ---: | ---: |`);
  for (const server of servers) {
    const value = median(server.rates);
    console.log(`| ${server.variant.label} | ${Math.round(value)} | ${(value / off).toFixed(3)} |`);
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
